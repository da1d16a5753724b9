package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
)

// Authorization modes (authorization.mode).
const (
	AuthzWebhook     = "Webhook"
	AuthzAlwaysAllow = "AlwaysAllow"
)

// userInfo is an authenticated caller.
type userInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string]authzv1.ExtraValue
}

// authCacheSize bounds each of the TokenReview and SubjectAccessReview
// answer caches; the least recently used answer goes first.
const authCacheSize = 4096

// authenticator identifies callers by client certificate (verified by the
// TLS layer against the client CA) or bearer token (TokenReview).
type authenticator struct {
	client    kubernetes.Interface
	webhook   bool
	anonymous bool
	// tokens maps a token's hash to its *userInfo (nil: not
	// authenticated) for ttl.
	tokens *cache.LRUExpireCache
	ttl    time.Duration
}

// authenticate returns the caller, or nil when unauthenticated.
func (a *authenticator) authenticate(r *http.Request) (*userInfo, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		c := r.TLS.VerifiedChains[0][0]
		return &userInfo{Name: c.Subject.CommonName, Groups: append(append([]string(nil), c.Subject.Organization...), "system:authenticated")}, nil
	}
	if token, ok := bearerToken(r); ok && a.webhook && a.client != nil {
		return a.reviewToken(r.Context(), token)
	}
	if a.anonymous {
		return &userInfo{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}, nil
	}
	return nil, nil
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (a *authenticator) reviewToken(ctx context.Context, token string) (*userInfo, error) {
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:])
	if v, ok := a.tokens.Get(key); ok {
		return v.(*userInfo), nil
	}
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to review a bearer token: %w", err)
	}
	var u *userInfo
	if tr.Status.Authenticated {
		u = &userInfo{Name: tr.Status.User.Username, UID: tr.Status.User.UID, Groups: tr.Status.User.Groups, Extra: map[string]authzv1.ExtraValue{}}
		for k, v := range tr.Status.User.Extra {
			u.Extra[k] = authzv1.ExtraValue(v)
		}
	}
	a.tokens.Add(key, u, a.ttl)
	return u, nil
}

// authorizer asks the API server (SubjectAccessReview) whether the caller
// may act on this node's subresource.
type authorizer struct {
	client   kubernetes.Interface
	mode     string
	nodeName string
	// decisions maps caller and attributes to the answer for ttl.
	decisions *cache.LRUExpireCache
	ttl       time.Duration
}

// allowed reports whether u may do verb on nodes/<subresource>/<node>.
func (z *authorizer) allowed(ctx context.Context, u *userInfo, verb, subresource string) (bool, error) {
	if z.mode == AuthzAlwaysAllow {
		return true, nil
	}
	if z.client == nil {
		return false, fmt.Errorf("authorization mode %q needs an API client", z.mode)
	}
	groups := append([]string(nil), u.Groups...)
	sort.Strings(groups)
	key := strings.Join([]string{u.Name, u.UID, strings.Join(groups, ","), fmt.Sprint(u.Extra), verb, subresource}, "|")
	if v, hit := z.decisions.Get(key); hit {
		return v.(bool), nil
	}
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Verb: verb, Version: "v1", Resource: nodesResource, Subresource: subresource, Name: z.nodeName,
		},
	}}
	res, err := z.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to review access of %q to nodes/%s: %w", u.Name, subresource, err)
	}
	z.decisions.Add(key, res.Status.Allowed, z.ttl)
	return res.Status.Allowed, nil
}

// nodesResource is the resource every request is authorized against.
const nodesResource = "nodes"

// subresourcesByRoot names, for the first segment of a request path, the
// nodes/ subresources whose permission grants the request, in the order
// they are asked for. Roots not listed need nodes/proxy.
var subresourcesByRoot = map[string][]string{
	"pods":        {"pods", "proxy"},
	"runningpods": {"pods", "proxy"},
	"healthz":     {"healthz", "proxy"},
	"configz":     {"configz", "proxy"},
	"stats":       {"stats"},
	"metrics":     {"metrics"},
	"logs":        {"log"},
}

// fallbackSubresource covers every other path: logs of containers, exec,
// attach, port forwarding, run.
const fallbackSubresource = "proxy"

// requestAttributes is the authorization verb of the request's method
// ("" for methods the API does not map) and the subresources of nodes/
// to ask about, in order.
func requestAttributes(r *http.Request) (string, []string) {
	root, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	subs, ok := subresourcesByRoot[root]
	if !ok {
		subs = []string{fallbackSubresource}
	}
	return methodVerb(r.Method), append([]string(nil), subs...)
}

// methodVerb is the Kubernetes verb for an HTTP method.
func methodVerb(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return ""
}

// withAuth wraps h with authentication (401) and authorization (403).
func (s *Server) withAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authn.authenticate(r)
		if err != nil {
			s.logf("authentication error: %v", err)
		}
		if u == nil {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb, subs := requestAttributes(r)
		for _, sub := range subs {
			ok, err := s.authz.allowed(r.Context(), u, verb, sub)
			if err != nil {
				s.logf("authorization error: %v", err)
				continue
			}
			if ok {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=%s, subresource(s)=%v)", u.Name, verb, nodesResource, subs), http.StatusForbidden)
	})
}
