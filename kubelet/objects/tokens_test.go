package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// tokenAPI answers TokenRequests as the API server does: token "tok-<n>",
// expiring after the requested seconds on the fake clock. fail makes it
// refuse instead.
type tokenAPI struct {
	clock *fakeNow
	mu    sync.Mutex
	reqs  []*authv1.TokenRequest
	names []string // service account of each request
	fail  bool
}

func (a *tokenAPI) react(act k8stesting.Action) (bool, runtime.Object, error) {
	c := act.(k8stesting.CreateAction)
	if c.GetSubresource() != "token" {
		return false, nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return true, nil, errors.New("apiserver unavailable")
	}
	tr := c.GetObject().(*authv1.TokenRequest).DeepCopy()
	a.reqs = append(a.reqs, tr.DeepCopy())
	a.names = append(a.names, c.(k8stesting.CreateActionImpl).Name)
	tr.Status.Token = fmt.Sprintf("tok-%d", len(a.reqs))
	tr.Status.ExpirationTimestamp = metav1.NewTime(a.clock.now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))
	return true, tr, nil
}

func (a *tokenAPI) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

func (a *tokenAPI) setFail(f bool) {
	a.mu.Lock()
	a.fail = f
	a.mu.Unlock()
}

func newTokenManager(t *testing.T) (*Manager, *tokenAPI, *bytes.Buffer) {
	clock := &fakeNow{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	api := &tokenAPI{clock: clock}
	c := fake.NewClientset()
	c.PrependReactor("create", "serviceaccounts", api.react)
	var logs bytes.Buffer
	return New(Options{Client: c, Now: clock.now, Logger: log.New(&logs, "", 0)}), api, &logs
}

func TestTokenRequestIsBoundToThePod(t *testing.T) {
	m, api, _ := newTokenManager(t)
	pod := podUsing("p1")
	pod.Spec.ServiceAccountName = "builder"
	ctx := context.Background()
	tok, err := m.ServiceAccountToken(ctx, pod, &v1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: ptr.To[int64](600)})
	if err != nil || tok != "tok-1" {
		t.Fatalf("ServiceAccountToken = %q, %v", tok, err)
	}
	if _, err := m.ServiceAccountToken(ctx, pod, &v1.ServiceAccountTokenProjection{}); err != nil {
		t.Fatal(err)
	}
	if api.count() != 2 {
		t.Fatalf("%d token requests for two projections; want 2", api.count())
	}
	r := api.reqs[0].Spec
	b := r.BoundObjectRef
	if api.names[0] != "builder" || len(r.Audiences) != 1 || r.Audiences[0] != "vault" || *r.ExpirationSeconds != 600 ||
		b == nil || b.Kind != "Pod" || b.APIVersion != "v1" || b.Name != pod.Name || b.UID != pod.UID {
		t.Errorf("request for %q: %+v; want audience vault, 600 s, bound to pod %s", api.names[0], r, pod.UID)
	}
	if r := api.reqs[1].Spec; r.Audiences != nil || *r.ExpirationSeconds != defaultTokenSeconds {
		t.Errorf("request without audience or expiry: audiences %v, %d s; want none and %d s", r.Audiences, *r.ExpirationSeconds, defaultTokenSeconds)
	}
}

func TestTokenIsRenewedAfter80PercentOfItsLife(t *testing.T) {
	for _, tc := range []struct {
		name          string
		seconds       int64
		before, after time.Duration
	}{
		{"1000s", 1000, 800 * time.Second, 801 * time.Second},
		{"a week: 24h at most", 7 * 24 * 3600, 24 * time.Hour, 24*time.Hour + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, api, _ := newTokenManager(t)
			pod := podUsing("p1")
			p := &v1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To(tc.seconds)}
			get := func() string {
				t.Helper()
				tok, err := m.ServiceAccountToken(context.Background(), pod, p)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			get()
			api.clock.add(tc.before)
			if tok := get(); tok != "tok-1" || api.count() != 1 {
				t.Errorf("after %s: %q with %d requests; want the cached tok-1", tc.before, tok, api.count())
			}
			api.clock.add(tc.after - tc.before)
			if tok := get(); tok != "tok-2" {
				t.Errorf("after %s: %q; want a new tok-2", tc.after, tok)
			}
		})
	}
}

func TestFailedRenewalKeepsTheValidToken(t *testing.T) {
	m, api, logs := newTokenManager(t)
	pod := podUsing("p1")
	p := &v1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](1000)}
	ctx := context.Background()
	if _, err := m.ServiceAccountToken(ctx, pod, p); err != nil {
		t.Fatal(err)
	}
	api.setFail(true)
	api.clock.add(900 * time.Second)
	for range 2 {
		if tok, err := m.ServiceAccountToken(ctx, pod, p); err != nil || tok != "tok-1" {
			t.Errorf("failed renewal before expiry = %q, %v; want tok-1", tok, err)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("%d log lines for two failed renewals; want 1:\n%s", n, logs)
	}
	api.clock.add(100 * time.Second)
	if tok, err := m.ServiceAccountToken(ctx, pod, p); err == nil {
		t.Errorf("failed renewal after expiry = %q; want an error", tok)
	}
	api.setFail(false)
	if tok, err := m.ServiceAccountToken(ctx, pod, p); err != nil || tok != "tok-2" {
		t.Errorf("renewal once the API answers = %q, %v; want tok-2", tok, err)
	}
}

func TestTokensArePerPodAndDroppedOnUntrack(t *testing.T) {
	m, api, _ := newTokenManager(t)
	p := &v1.ServiceAccountTokenProjection{}
	ctx := context.Background()
	for _, uid := range []string{"p1", "p2", "p1"} {
		if _, err := m.ServiceAccountToken(ctx, podUsing(uid), p); err != nil {
			t.Fatal(err)
		}
	}
	if api.count() != 2 {
		t.Errorf("%d requests for two pods; want 2", api.count())
	}
	m.Untrack("p1")
	if tok, _ := m.ServiceAccountToken(ctx, podUsing("p1"), p); tok != "tok-3" {
		t.Errorf("token of p1 after Untrack = %q; want a new tok-3", tok)
	}
	noAccount := podUsing("p3")
	noAccount.Spec.ServiceAccountName = ""
	if _, err := m.ServiceAccountToken(ctx, noAccount, p); err == nil || !strings.Contains(err.Error(), "serviceAccountName") {
		t.Errorf("pod without a service account: %v; want an error naming spec.serviceAccountName", err)
	}
}
