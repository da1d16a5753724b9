package objects

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

const (
	// defaultTokenSeconds is the lifetime the API gives a projected token
	// whose expirationSeconds is not set.
	defaultTokenSeconds = 3600
	// tokenRefreshPercent is the share of a token's life after which a new
	// one is requested.
	tokenRefreshPercent = 80
	// tokenMaxAge is the age after which a token is renewed whatever its
	// lifetime.
	tokenMaxAge = 24 * time.Hour
)

// tokenKey is what makes two projected tokens the same.
type tokenKey struct {
	namespace, account, audience string
	seconds                      int64
	pod                          types.UID
}

// token is one issued token and its life.
type token struct {
	value           string
	issued, expires time.Time
	warned          bool // a failed refresh was logged
}

// stale reports whether t is due for renewal at now.
func (t *token) stale(now time.Time) bool {
	life := t.expires.Sub(t.issued)
	return now.After(t.issued.Add(life*tokenRefreshPercent/100)) || now.After(t.issued.Add(tokenMaxAge))
}

// tokenCache requests and keeps the pods' service-account tokens.
type tokenCache struct {
	client kubernetes.Interface
	logger *log.Logger
	now    func() time.Time

	mu     sync.Mutex
	tokens map[tokenKey]*token
}

func newTokenCache(c kubernetes.Interface, l *log.Logger, now func() time.Time) *tokenCache {
	return &tokenCache{client: c, logger: l, now: now, tokens: map[tokenKey]*token{}}
}

// get returns the cached token of the projection p in pod, renewing it when
// stale. A token that cannot be renewed is returned until it expires.
func (c *tokenCache) get(ctx context.Context, pod *v1.Pod, p *v1.ServiceAccountTokenProjection) (string, error) {
	if pod.Spec.ServiceAccountName == "" {
		return "", fmt.Errorf("pod %s/%s: a serviceAccountToken projection needs spec.serviceAccountName", pod.Namespace, pod.Name)
	}
	key := tokenKey{namespace: pod.Namespace, account: pod.Spec.ServiceAccountName, audience: p.Audience, seconds: defaultTokenSeconds, pod: pod.UID}
	if p.ExpirationSeconds != nil {
		key.seconds = *p.ExpirationSeconds
	}
	now := c.now()
	c.mu.Lock()
	old := c.tokens[key]
	c.mu.Unlock()
	if old != nil && !old.stale(now) {
		return old.value, nil
	}
	fresh, err := c.request(ctx, key, pod, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if old != nil && now.Before(old.expires) {
			if !old.warned {
				c.logger.Printf("keeping the current token until %s: %v", old.expires.Format(time.RFC3339), err)
				old.warned = true
			}
			return old.value, nil
		}
		return "", err
	}
	// Drop expired tokens, such as one stored for a pod while it was
	// being untracked.
	for k, t := range c.tokens {
		if !now.Before(t.expires) {
			delete(c.tokens, k)
		}
	}
	c.tokens[key] = fresh
	return fresh.value, nil
}

// request asks the API server for a token bound to pod.
func (c *tokenCache) request(ctx context.Context, key tokenKey, pod *v1.Pod, now time.Time) (*token, error) {
	seconds := key.seconds
	tr := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if key.audience != "" {
		tr.Spec.Audiences = []string{key.audience}
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	out, err := c.client.CoreV1().ServiceAccounts(key.namespace).CreateToken(ctx, key.account, tr, metav1.CreateOptions{})
	if err == nil && out.Status.Token == "" {
		err = fmt.Errorf("the API server returned an empty token")
	}
	if err != nil {
		return nil, fmt.Errorf("requesting a token of service account %s/%s for pod %s: %w", key.namespace, key.account, pod.Name, err)
	}
	// The API server may shorten the lifetime; its answer is what counts.
	life := time.Duration(seconds) * time.Second
	if out.Spec.ExpirationSeconds != nil {
		life = time.Duration(*out.Spec.ExpirationSeconds) * time.Second
	}
	expires := out.Status.ExpirationTimestamp.Time
	if expires.IsZero() {
		expires = now.Add(life)
	}
	return &token{value: out.Status.Token, issued: expires.Add(-life), expires: expires}, nil
}

// forget drops the tokens of the pod uid.
func (c *tokenCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tokens {
		if k.pod == uid {
			delete(c.tokens, k)
		}
	}
}
