package config

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestBootstrapTokenOutputJSON(t *testing.T) {
	obj := NewBootstrapTokenOutput(BootstrapToken{Token: &BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"},
		TTL: &metav1.Duration{Duration: time.Hour}, Description: "d"})
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"BootstrapToken","apiVersion":"output.kubeadm.k8s.io/v1alpha3","token":"abcdef.0123456789abcdef","description":"d","ttl":"1h0m0s"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

func TestValidateBootstrapTokenFieldNames(t *testing.T) {
	bt := &BootstrapToken{Token: &BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"},
		TTL: &metav1.Duration{Duration: -time.Second}, Usages: []string{"bogus"}, Groups: []string{"admins"}}
	var got []string
	for _, e := range ValidateBootstrapToken(bt, nil) {
		got = append(got, e.Field)
	}
	want := []string{"usages", "groups", "groups", "ttl"}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fields %v, want %v", got, want)
		}
	}
	err := ValidateBootstrapTokens([]BootstrapToken{*bt})
	if err == nil || err.(*ValidationError).Errors[0].Field != "bootstrapTokens[0].usages" {
		t.Errorf("got %v", err)
	}
	if ValidateBootstrapToken(&BootstrapToken{Token: bt.Token, Usages: []string{"signing", "authentication"}}, nil) != nil {
		t.Error("a valid token was refused")
	}
}
