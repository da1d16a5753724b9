// Package server is the kubelet API of the node agent on port 10250, over
// TLS: GET /healthz, GET /pods, GET /containerLogs/{ns}/{pod}/{container},
// GET /stats/summary, GET /metrics/resource, GET /metrics and the streaming
// endpoints /exec, /attach and /portForward, which are
// proxied to the container runtime's streaming server.
//
// Callers authenticate with a client certificate signed by the client CA
// (kube-apiserver presents apiserver-kubelet-client) or a bearer token
// (TokenReview); each request is authorized with a SubjectAccessReview on
// nodes/<subresource>, as the upstream kubelet does.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/metrics"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// DefaultAuthCacheTTL is how long TokenReview and SubjectAccessReview
// answers are reused.
const DefaultAuthCacheTTL = 10 * time.Second

// readHeaderTimeout bounds reading a request's headers; shutdownTimeout
// how long open requests may finish when the agent stops.
const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 2 * time.Second
)

// Options configure the kubelet API server.
type Options struct {
	// NodeName is the name authorized against (nodes/<subresource>/<name>).
	NodeName string
	// NodeIP goes into the self-signed certificate's SANs.
	NodeIP string
	// Address and Port are the listen address (0.0.0.0:10250).
	Address string
	Port    int
	// TLSCertFile and TLSKeyFile are tlsCertFile and tlsPrivateKeyFile;
	// empty: a self-signed pair in CertDir (default /var/lib/kubelet/pki).
	TLSCertFile string
	TLSKeyFile  string
	CertDir     string
	// GetCertificate, when set, gives the serving certificate at each
	// handshake instead of the files above (serverTLSBootstrap: a
	// certificate requested from the cluster and rotated).
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// ClientCAFile is authentication.x509.clientCAFile; empty disables
	// client certificate authentication.
	ClientCAFile string
	// WebhookAuthentication is authentication.webhook.enabled;
	// AnonymousAuthentication is authentication.anonymous.enabled.
	WebhookAuthentication   bool
	AnonymousAuthentication bool
	// AuthorizationMode is "Webhook" (default) or "AlwaysAllow".
	AuthorizationMode string
	// Client calls TokenReview and SubjectAccessReview.
	Client kubernetes.Interface
	// PodLogsDir is where container logs are (/var/log/pods).
	PodLogsDir string
	// AuthCacheTTL; zero: DefaultAuthCacheTTL.
	AuthCacheTTL time.Duration
	// Logger; nil: log.Default().
	Logger *log.Logger
	// Failures lists the agent's failed parts for /healthz, as the
	// agent's own health endpoint shows them; nil: always healthy.
	Failures func() []string
	// Stats answers /stats/summary and /metrics/resource; nil: they
	// answer 503.
	Stats StatsProvider
	// Metrics serves /metrics; nil: the agent's registry
	// (kubelet/metrics.Handler).
	Metrics http.Handler
}

// Provider is the node agent: the static pods and their status.
type Provider interface {
	// Pods are every pod the agent runs (static and from the API server).
	Pods() []*v1.Pod
	Report() *status.Report
}

// Server is the kubelet API.
type Server struct {
	opts     Options
	provider Provider
	streamer Streamer
	authn    *authenticator
	authz    *authorizer
	// resourceMetrics serves /metrics/resource (nil without Stats).
	resourceMetrics http.Handler
}

// New returns the kubelet API for provider; streamer may be nil (the
// streaming endpoints then answer 503).
func New(opts Options, provider Provider, streamer Streamer) *Server {
	if opts.AuthCacheTTL <= 0 {
		opts.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if opts.AuthorizationMode == "" {
		opts.AuthorizationMode = AuthzWebhook
	}
	if opts.Logger == nil {
		opts.Logger = log.Default()
	}
	if opts.PodLogsDir == "" {
		opts.PodLogsDir = constants.PodLogsDir
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.Handler()
	}
	var resourceMetrics http.Handler
	if opts.Stats != nil {
		resourceMetrics = opts.Stats.ResourceMetricsHandler(opts.Logger)
	}
	return &Server{resourceMetrics: resourceMetrics,
		opts: opts, provider: provider, streamer: streamer,
		authn: &authenticator{client: opts.Client, webhook: opts.WebhookAuthentication, anonymous: opts.AnonymousAuthentication,
			tokens: cache.NewLRUExpireCache(authCacheSize), ttl: opts.AuthCacheTTL},
		authz: &authorizer{client: opts.Client, mode: opts.AuthorizationMode, nodeName: opts.NodeName,
			decisions: cache.NewLRUExpireCache(authCacheSize), ttl: opts.AuthCacheTTL},
	}
}

// WriteHealthz answers a health check: "ok", or 500 with one "[-]" line
// per failed part.
func WriteHealthz(w http.ResponseWriter, failures []string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(failures) > 0 {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "[-]%s\nhealthz check failed\n", strings.Join(failures, "\n[-]"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) logf(format string, args ...any) { s.opts.Logger.Printf(format, args...) }

// Handler is the authenticated and authorized API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		var failures []string
		if s.opts.Failures != nil {
			failures = s.opts.Failures()
		}
		WriteHealthz(w, failures)
	})
	mux.HandleFunc("GET /pods", s.servePods)
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
	mux.HandleFunc("GET /metrics/resource", s.serveResourceMetrics)
	mux.Handle("GET /metrics", s.opts.Metrics)
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveLogs)
	for _, p := range []string{"/exec/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc("GET "+p, s.serveExec)
		mux.HandleFunc("POST "+p, s.serveExec)
	}
	for _, p := range []string{"/attach/{namespace}/{pod}/{container}", "/attach/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc("GET "+p, s.serveAttach)
		mux.HandleFunc("POST "+p, s.serveAttach)
	}
	for _, p := range []string{"/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"} {
		mux.HandleFunc("GET "+p, s.servePortForward)
		mux.HandleFunc("POST "+p, s.servePortForward)
	}
	return s.withAuth(mux)
}

// TLSConfig is the server's TLS configuration: the serving pair and, with
// a client CA, client certificates verified when given. HTTP/1.1 only, so
// that streaming upgrades always work.
func (s *Server) TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubelet serving certificate %q and key %q: %w", certFile, keyFile, err)
	}
	cfg, err := s.baseTLSConfig()
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{pair}
	return cfg, nil
}

// baseTLSConfig is TLSConfig without the serving certificate.
func (s *Server) baseTLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if s.opts.ClientCAFile != "" {
		pool, err := loadClientCAs(s.opts.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// Listener is the kubelet API bound to its address, with its serving
// certificate ready; Serve runs it.
type Listener struct {
	srv  *http.Server
	l    net.Listener
	addr string
	logf func(string, ...any)
}

// Listen ensures the serving certificate and binds the kubelet API's
// address, so that a taken port or a bad certificate is an error at
// start-up rather than in the background.
func Listen(opts Options, provider Provider, streamer Streamer) (*Listener, error) {
	s := New(opts, provider, streamer)
	tlsCfg, err := s.servingTLSConfig()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(opts.Address, strconv.Itoa(opts.Port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on the kubelet API address %q (KubeletConfiguration address and port): %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), TLSConfig: tlsCfg, ReadHeaderTimeout: readHeaderTimeout,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	return &Listener{srv: srv, l: tls.NewListener(l, tlsCfg), addr: l.Addr().String(), logf: s.logf}, nil
}

// servingTLSConfig is the TLS configuration with the serving
// certificate of the options: GetCertificate, else tlsCertFile and
// tlsPrivateKeyFile, else a self-signed pair in CertDir.
func (s *Server) servingTLSConfig() (*tls.Config, error) {
	opts := s.opts
	if opts.GetCertificate != nil {
		cfg, err := s.baseTLSConfig()
		if err != nil {
			return nil, err
		}
		cfg.GetCertificate = opts.GetCertificate
		return cfg, nil
	}
	certFile, keyFile := opts.TLSCertFile, opts.TLSKeyFile
	if certFile == "" || keyFile == "" {
		dir := opts.CertDir
		if dir == "" {
			dir = constants.KubeletPKIDir
		}
		var err error
		if certFile, keyFile, err = EnsureServingCert(dir, opts.NodeName, opts.NodeIP, time.Now()); err != nil {
			return nil, err
		}
	}
	return s.TLSConfig(certFile, keyFile)
}

// Addr is the bound address (host:port).
func (b *Listener) Addr() string { return b.addr }

// Serve serves the kubelet API until ctx ends (nil) or the server fails.
func (b *Listener) Serve(ctx context.Context) error {
	errs := make(chan error, 1)
	go func() { errs <- b.srv.Serve(b.l) }()
	b.logf("serving the kubelet API on %s", b.addr)
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = b.srv.Shutdown(sctx)
		return nil
	case err := <-errs:
		if errors.Is(err, http.ErrServerClosed) && ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("the kubelet API server on %q failed: %w", b.addr, err)
	}
}

// Close stops serving at once.
func (b *Listener) Close() error { return b.srv.Close() }

// Serve is Listen followed by Listener.Serve.
func Serve(ctx context.Context, opts Options, provider Provider, streamer Streamer) error {
	b, err := Listen(opts, provider, streamer)
	if err != nil {
		return err
	}
	return b.Serve(ctx)
}

// servePods answers the static pods as a v1 PodList.
func (s *Server) servePods(w http.ResponseWriter, _ *http.Request) {
	list := &v1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, p := range s.provider.Pods() {
		list.Items = append(list.Items, *p)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// findPod is the reported pod namespace/name (the full static pod name,
// e.g. etcd-node1).
func (s *Server) findPod(namespace, name string) (*status.Pod, bool) {
	rep := s.provider.Report()
	for i := range rep.Pods {
		if rep.Pods[i].Namespace == namespace && rep.Pods[i].Name == name {
			return &rep.Pods[i], true
		}
	}
	return nil, false
}

// findContainer is a regular (else init) container of the pod.
func findContainer(p *status.Pod, name string) (*status.Container, bool) {
	var init *status.Container
	for i := range p.Containers {
		c := &p.Containers[i]
		if c.Name != name {
			continue
		}
		if !c.Init {
			return c, true
		}
		init = c
	}
	return init, init != nil
}
