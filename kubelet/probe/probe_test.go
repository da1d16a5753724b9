package probe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func hostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, _ := url.Parse(raw)
	h, p, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(p)
	return h, port
}

func TestDoHTTP(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("User-Agent") != UserAgent || r.Header.Get("X-Test") != "1" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
		case "/slow":
			<-r.Context().Done() // answers only once the probe gave up
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	secure := httptest.NewTLSServer(handler)
	defer secure.Close()
	hdr := http.Header{"X-Test": []string{"1"}}
	tests := []struct {
		name    string
		srv     *httptest.Server
		scheme  string
		path    string
		timeout time.Duration
		want    bool
	}{
		{"ok", plain, "HTTP", "/ok", time.Second, true},
		{"https ok", secure, "HTTPS", "/ok", time.Second, true},
		{"500", plain, "HTTP", "/bad", time.Second, false},
		{"timeout", plain, "HTTP", "/slow", 50 * time.Millisecond, false},
		{"redirect", plain, "HTTP", "/redirect", time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, p := hostPort(t, tt.srv.URL)
			r := DoHTTP(context.Background(), HTTPGet{Scheme: tt.scheme, Host: h, Port: p, Path: tt.path, Headers: hdr}, tt.timeout)
			if r.Success != tt.want {
				t.Errorf("success = %v (%s), want %v", r.Success, r.Message, tt.want)
			}
		})
	}
}

func TestDoTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if r := DoTCP(context.Background(), "127.0.0.1", port, time.Second); !r.Success {
		t.Errorf("open port: %s", r.Message)
	}
	l.Close()
	if r := DoTCP(context.Background(), "127.0.0.1", port, time.Second); r.Success {
		t.Error("closed port succeeded")
	}
}

func TestDoGRPC(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("db", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	port := l.Addr().(*net.TCPAddr).Port
	if r := DoGRPC(context.Background(), "127.0.0.1", port, "", time.Second); !r.Success {
		t.Errorf("serving: %s", r.Message)
	}
	if r := DoGRPC(context.Background(), "127.0.0.1", port, "db", time.Second); r.Success {
		t.Error("NOT_SERVING succeeded")
	}
}

func TestDoExec(t *testing.T) {
	ok := func(context.Context, []string, time.Duration) ([]byte, []byte, error) { return nil, nil, nil }
	bad := func(context.Context, []string, time.Duration) ([]byte, []byte, error) {
		return nil, []byte("boom"), errors.New("exit 1")
	}
	if r := DoExec(context.Background(), ok, []string{"true"}, time.Second); !r.Success {
		t.Error("exit 0 failed")
	}
	if r := DoExec(context.Background(), bad, []string{"false"}, time.Second); r.Success || r.Message == "" {
		t.Errorf("failure = %+v", r)
	}
}
