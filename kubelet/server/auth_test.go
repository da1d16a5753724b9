package server

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestRequestAttributes pins which verb and which nodes/ subresources a
// request to the kubelet API is authorized against.
func TestRequestAttributes(t *testing.T) {
	tests := []struct {
		method, path string
		verb         string
		subs         []string
	}{
		{http.MethodGet, "/pods", "get", []string{"pods", "proxy"}},
		{http.MethodGet, "/pods/", "get", []string{"pods", "proxy"}},
		{http.MethodGet, "/podsx", "get", []string{"proxy"}},
		{http.MethodGet, "/runningpods/", "get", []string{"pods", "proxy"}},
		{http.MethodGet, "/healthz", "get", []string{"healthz", "proxy"}},
		{http.MethodGet, "/healthz/ping", "get", []string{"healthz", "proxy"}},
		{http.MethodGet, "/configz", "get", []string{"configz", "proxy"}},
		{http.MethodGet, "/stats/summary", "get", []string{"stats"}},
		{http.MethodGet, "/stats", "get", []string{"stats"}},
		{http.MethodGet, "/metrics", "get", []string{"metrics"}},
		{http.MethodGet, "/metrics/cadvisor", "get", []string{"metrics"}},
		{http.MethodGet, "/metrics/resource", "get", []string{"metrics"}},
		{http.MethodGet, "/metricsx", "get", []string{"proxy"}},
		{http.MethodGet, "/logs/", "get", []string{"log"}},
		{http.MethodGet, "/logs/syslog", "get", []string{"log"}},
		{http.MethodGet, "/spec/", "get", []string{"proxy"}},
		{http.MethodGet, "/containerLogs/kube-system/etcd-node1/etcd", "get", []string{"proxy"}},
		{http.MethodPost, "/exec/kube-system/etcd-node1/etcd", "create", []string{"proxy"}},
		{http.MethodGet, "/exec/kube-system/etcd-node1/etcd", "get", []string{"proxy"}},
		{http.MethodPost, "/attach/kube-system/etcd-node1/etcd", "create", []string{"proxy"}},
		{http.MethodPost, "/portForward/kube-system/etcd-node1", "create", []string{"proxy"}},
		{http.MethodPost, "/run/kube-system/etcd-node1/etcd", "create", []string{"proxy"}},
		{http.MethodHead, "/pods", "get", []string{"pods", "proxy"}},
		{http.MethodPut, "/pods", "update", []string{"pods", "proxy"}},
		{http.MethodPatch, "/pods", "patch", []string{"pods", "proxy"}},
		{http.MethodDelete, "/pods", "delete", []string{"pods", "proxy"}},
		{http.MethodOptions, "/pods", "", []string{"pods", "proxy"}},
		{http.MethodGet, "/", "get", []string{"proxy"}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		verb, subs := requestAttributes(r)
		if verb != tt.verb || !reflect.DeepEqual(subs, tt.subs) {
			t.Errorf("%s %s = %q %v, want %q %v", tt.method, tt.path, verb, subs, tt.verb, tt.subs)
		}
	}
}
