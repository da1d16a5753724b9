package server

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseLogOptions(t *testing.T) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("follow=true&tailLines=10&sinceSeconds=60&limitBytes=7&timestamps=1")
	o, err := ParseLogOptions(q, now)
	want := LogOptions{Follow: true, Timestamps: true, TailLines: 10, LimitBytes: 7, Since: now.Add(-time.Minute)}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v, %v; want %+v", o, err, want)
	}
	for _, bad := range []string{"follow=maybe", "tailLines=-1", "sinceTime=yesterday"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseLogOptions(q, now); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestEnsureServingCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	certFile, keyFile, err := EnsureServingCert(dir, "node1", "10.0.0.5", now)
	if err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{certFile: 0o644, keyFile: 0o600} {
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", file, err, st.Mode().Perm(), mode)
		}
	}
	first, _ := os.ReadFile(certFile)
	if !usableCert(certFile, keyFile, now) {
		t.Fatal("the new pair is not usable")
	}
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.5", now); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(certFile)
	if !bytes.Equal(first, again) {
		t.Errorf("a usable pair was not reused")
	}
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.5", now.Add(2*servingValidity)); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(certFile)
	if bytes.Equal(first, renewed) {
		t.Errorf("an expired pair was reused")
	}
}
