package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	// testAdminConf has one CA whose pin is testCAHash (the values of the
	// upstream banner goldens in phases/clusterobjects/testdata).
	testAdminConf = "../../phases/clusterobjects/testdata/admin.conf"
	testCAHash    = "sha256:f20128b39ef5753e321adc5100161162af26ba5fb5aa0ea8e2d82c9e028ed207"
	// testAdmin2CAConf has two CAs.
	testAdmin2CAConf = "../../phases/clusterobjects/testdata/admin-2ca.conf"
	testCertKey      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var tokenRE = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// tokenRun is one run of `kubeadmin token ...` against a fake cluster.
type tokenRun struct {
	out, errOut string
	err         error
	// paths are the kubeconfig paths the client factory was given.
	paths []string
}

// runToken runs the token command with args against client, at the fixed
// time now.
func runToken(t *testing.T, client kubernetes.Interface, now time.Time, args ...string) tokenRun {
	t.Helper()
	var out, errOut strings.Builder
	var r tokenRun
	o := &tokenOptions{
		newClient: func(path string) (kubernetes.Interface, error) {
			r.paths = append(r.paths, path)
			return client, nil
		},
		now:             func() time.Time { return now },
		out:             &out,
		errOut:          &errOut,
		adminKubeconfig: filepath.Join(t.TempDir(), "admin.conf"),
	}
	cmd := newTokenCommand(o)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	r.err = cmd.Execute()
	r.out, r.errOut = out.String(), errOut.String()
	return r
}

func getSecret(t *testing.T, client kubernetes.Interface, name string) map[string]string {
	t.Helper()
	s, err := client.CoreV1().Secrets("kube-system").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != "bootstrap.kubernetes.io/token" {
		t.Errorf("type %q", s.Type)
	}
	m := map[string]string{}
	for k, v := range s.Data {
		m[k] = string(v)
	}
	return m
}

func tokenSecret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		Data:       map[string][]byte{},
	}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestTokenCreateDefaults(t *testing.T) {
	client := fake.NewClientset()
	before := time.Now()
	r := runToken(t, client, before, "create", "--kubeconfig", testAdminConf)
	if r.err != nil {
		t.Fatal(r.err)
	}
	tok := strings.TrimSuffix(r.out, "\n")
	if !tokenRE.MatchString(tok) || r.out != tok+"\n" {
		t.Fatalf("output %q is not one token line", r.out)
	}
	id, secret, _ := strings.Cut(tok, ".")
	data := getSecret(t, client, "bootstrap-token-"+id)
	exp, err := time.Parse(time.RFC3339, data["expiration"])
	if err != nil {
		t.Fatalf("expiration %q: %v", data["expiration"], err)
	}
	if d := exp.Sub(before); d < 24*time.Hour-time.Second || d > 24*time.Hour+time.Minute {
		t.Errorf("expiration %s is not 24h after %s", exp, before)
	}
	delete(data, "expiration")
	want := map[string]string{
		"token-id": id, "token-secret": secret,
		"usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true",
		"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
	}
	if !equalMaps(data, want) {
		t.Errorf("data %v, want %v", data, want)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestTokenCreateFromFlags(t *testing.T) {
	client := fake.NewClientset()
	r := runToken(t, client, time.Now(), "create", "abcdef.0123456789abcdef", "--kubeconfig", testAdminConf,
		"--ttl", "0", "--description", "for CI", "--usages", "authentication", "--groups", "system:bootstrappers:ci,system:bootstrappers:x")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.out != "abcdef.0123456789abcdef\n" {
		t.Errorf("output %q", r.out)
	}
	want := map[string]string{
		"token-id": "abcdef", "token-secret": "0123456789abcdef", "description": "for CI",
		"usage-bootstrap-authentication": "true",
		"auth-extra-groups":              "system:bootstrappers:ci,system:bootstrappers:x",
	}
	if got := getSecret(t, client, "bootstrap-token-abcdef"); !equalMaps(got, want) {
		t.Errorf("data %v, want %v (no expiration with --ttl 0)", got, want)
	}
}

func TestTokenCreateExistingID(t *testing.T) {
	client := fake.NewClientset(tokenSecret("bootstrap-token-abcdef", map[string]string{"token-id": "abcdef", "token-secret": "ffffffffffffffff"}))
	r := runToken(t, client, time.Now(), "create", "abcdef.0123456789abcdef", "--kubeconfig", testAdminConf)
	if r.err == nil || r.err.Error() != `a token with id "abcdef" already exists` {
		t.Fatalf("got %v", r.err)
	}
	if got := getSecret(t, client, "bootstrap-token-abcdef"); got["token-secret"] != "ffffffffffffffff" {
		t.Errorf("existing token was changed: %v", got)
	}
}

// Bad input is refused before the cluster is contacted.
func TestTokenCreateBadInput(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  usages: [nope]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"foo"}, `the bootstrap token "foo" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`},
		{[]string{"a", "b"}, "accepts at most 1 arg(s), received 2"},
		{[]string{"--usages", "nope"}, `--usages: Invalid value: "nope": invalid bootstrap token usage string: nope`},
		{[]string{"--groups", "admins"}, `--groups: Invalid value: "admins": bootstrap group "admins" is invalid`},
		{[]string{"--usages", "signing"}, `--groups: Invalid value: "system:bootstrappers:kubeadm:default-node-token": token groups cannot be specified unless usages includes "authentication"`},
		{[]string{"--ttl", "-1h"}, `--ttl: Invalid value: "-1h0m0s": must be 0 (never expires) or positive`},
		{[]string{"--ttl", "soon"}, `invalid argument "soon" for "--ttl" flag`},
		{[]string{"--certificate-key", testCertKey}, "cannot use --certificate-key without --print-join-command"},
		{[]string{"--print-join-command", "--certificate-key", "abc"}, `--certificate-key: Invalid value: "abc": certificate key decoding error`},
		{[]string{"--config", cfg, "--ttl", "1h"}, "can not mix '--config' with arguments [ttl]"},
		{[]string{"--config", cfg, "--print-join-command", "--certificate-key", testCertKey}, "can not mix '--config' with arguments [certificate-key]"},
		{[]string{"--config", cfg}, `bootstrapTokens[0].usages: Invalid value: "nope"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			client := fake.NewClientset()
			r := runToken(t, client, time.Now(), append([]string{"create", "--kubeconfig", testAdminConf}, tt.args...)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", r.err, tt.want)
			}
			if n := len(client.Actions()); n != 0 || r.out != "" {
				t.Errorf("%d API calls and output %q after bad input", n, r.out)
			}
		})
	}
}

func TestTokenCreateFromConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	doc := `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  description: first
  ttl: 0s
- description: second
  usages: [signing]
  groups: []
`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// --usages signing without groups fails validation in kubeadm too, so
	// the second token keeps authentication through its defaulted groups.
	client := fake.NewClientset()
	r := runToken(t, client, time.Now(), "create", "--kubeconfig", testAdminConf, "--config", cfg)
	if r.err == nil {
		t.Fatal("a signing-only token with defaulted groups was accepted")
	}
	doc = strings.Replace(doc, "usages: [signing]", "usages: [signing, authentication]", 1)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runToken(t, client, time.Now(), "create", "--kubeconfig", testAdminConf, "--config", cfg)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.out != "abcdef.0123456789abcdef\n" {
		t.Errorf("output %q, want the first token", r.out)
	}
	if got := getSecret(t, client, "bootstrap-token-abcdef"); got["description"] != "first" || got["expiration"] != "" {
		t.Errorf("first token %v", got)
	}
	tokens, err := client.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(tokens.Items) != 2 {
		t.Fatalf("want both tokens of the file created, got %v %v", tokens, err)
	}

	// The [token] argument replaces the first token of the file.
	client = fake.NewClientset()
	r = runToken(t, client, time.Now(), "create", "ghijkl.0123456789abcdef", "--kubeconfig", testAdminConf, "--config", cfg)
	if r.err != nil || r.out != "ghijkl.0123456789abcdef\n" {
		t.Fatalf("got %q, %v", r.out, r.err)
	}
	if got := getSecret(t, client, "bootstrap-token-ghijkl"); got["description"] != "first" {
		t.Errorf("token %v", got)
	}
}

func TestTokenCreatePrintJoinCommand(t *testing.T) {
	tests := []struct {
		name, kubeconfig string
		args             []string
		want             string
	}{
		{
			name: "worker", kubeconfig: testAdminConf,
			want: "kubeadmin join 10.0.0.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash " + testCAHash + " \n",
		},
		{
			name: "control plane", kubeconfig: testAdmin2CAConf, args: []string{"--certificate-key", testCertKey},
			want: "kubeadmin join cp.example.com:6443 --token abcdef.0123456789abcdef" +
				" --discovery-token-ca-cert-hash sha256:bfca65ba4f0eb56d4a023b03e54bafcc577fe7849f874ecbf0bc1aecfd46d020" +
				" --discovery-token-ca-cert-hash sha256:1869ba57875629ace1be3afa5072a328177be18443bd36071a9427808a9943d5" +
				" --control-plane --certificate-key " + testCertKey + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			args := append([]string{"create", "abcdef.0123456789abcdef", "--print-join-command", "--kubeconfig", tt.kubeconfig}, tt.args...)
			r := runToken(t, client, time.Now(), args...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.out != tt.want {
				t.Errorf("got\n%q\nwant\n%q", r.out, tt.want)
			}
			getSecret(t, client, "bootstrap-token-abcdef")
		})
	}
}

// A kubeconfig the join command cannot be built from fails before the
// token is created.
func TestTokenCreatePrintJoinCommandBadKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "noca.conf")
	noCA := "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster: {server: \"https://10.0.0.10:6443\"}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: x}\n"
	if err := os.WriteFile(path, []byte(noCA), 0o600); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	r := runToken(t, client, time.Now(), "create", "--print-join-command", "--kubeconfig", path)
	if r.err == nil || !strings.Contains(r.err.Error(), "failed to get join command: no CA certificates found in kubeconfig") {
		t.Fatalf("got %v", r.err)
	}
	if n := len(client.Actions()); n != 0 {
		t.Errorf("%d API calls; the token must not be created", n)
	}
}

// listFixture holds two valid tokens (given out of order) and one that
// does not parse.
func listFixture() *fake.Clientset {
	return fake.NewClientset(
		tokenSecret("bootstrap-token-ghijkl", map[string]string{"token-id": "ghijkl", "token-secret": "0123456789abcdef", "usage-bootstrap-signing": "true"}),
		tokenSecret("bootstrap-token-abcdef", map[string]string{
			"token-id": "abcdef", "token-secret": "0123456789abcdef", "expiration": "2026-01-02T00:00:00Z",
			"description":             "The default bootstrap token generated by 'kubeadm init'.",
			"usage-bootstrap-signing": "true", "usage-bootstrap-authentication": "true",
			"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
		}),
		tokenSecret("bootstrap-token-zzzzzz", map[string]string{"token-id": "abcdef", "token-secret": "0123456789abcdef"}),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "kube-system"}},
	)
}

var listNow = time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)

const listSkipped = `bootstrap token name is not of the form 'bootstrap-token-(token-id)'. Actual: "bootstrap-token-zzzzzz". Expected: "bootstrap-token-abcdef"` + "\n"

func TestTokenList(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{
			args: nil,
			want: "TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION                                                EXTRA GROUPS\n" +
				"abcdef.0123456789abcdef   23h         2026-01-02T00:00:00Z   authentication,signing   The default bootstrap token generated by 'kubeadm init'.   system:bootstrappers:kubeadm:default-node-token\n" +
				"ghijkl.0123456789abcdef   <forever>   <never>   signing                  <none>                                                     <none>\n",
		},
		{
			args: []string{"-o", "json"},
			want: `{
    "kind": "BootstrapToken",
    "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
    "token": "abcdef.0123456789abcdef",
    "description": "The default bootstrap token generated by 'kubeadm init'.",
    "expires": "2026-01-02T00:00:00Z",
    "usages": [
        "authentication",
        "signing"
    ],
    "groups": [
        "system:bootstrappers:kubeadm:default-node-token"
    ]
}
{
    "kind": "BootstrapToken",
    "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
    "token": "ghijkl.0123456789abcdef",
    "usages": [
        "signing"
    ]
}
`,
		},
		{
			args: []string{"--output=yaml", "--show-managed-fields"},
			want: `apiVersion: output.kubeadm.k8s.io/v1alpha3
description: The default bootstrap token generated by 'kubeadm init'.
expires: "2026-01-02T00:00:00Z"
groups:
- system:bootstrappers:kubeadm:default-node-token
kind: BootstrapToken
token: abcdef.0123456789abcdef
usages:
- authentication
- signing
---
apiVersion: output.kubeadm.k8s.io/v1alpha3
kind: BootstrapToken
token: ghijkl.0123456789abcdef
usages:
- signing
`,
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runToken(t, listFixture(), listNow, append([]string{"list", "--kubeconfig", testAdminConf}, tt.args...)...)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.out != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", r.out, tt.want)
			}
			if r.errOut != listSkipped {
				t.Errorf("stderr %q, want %q", r.errOut, listSkipped)
			}
		})
	}
}

func TestTokenListErrors(t *testing.T) {
	r := runToken(t, listFixture(), listNow, "list", "--kubeconfig", testAdminConf, "-o", "wide")
	if r.err == nil || r.err.Error() != `invalid --output: unable to match a printer suitable for the output format "wide", allowed formats are: json,text,yaml` {
		t.Errorf("got %v", r.err)
	}
	if r.paths != nil {
		t.Errorf("a client was built for a bad --output")
	}
	r = runToken(t, listFixture(), listNow, "list", "extra", "--kubeconfig", testAdminConf)
	if r.err == nil || !strings.Contains(r.err.Error(), `unknown command "extra"`) {
		t.Errorf("got %v", r.err)
	}
	// No tokens: no header either, as kubeadm.
	r = runToken(t, fake.NewClientset(), listNow, "list", "--kubeconfig", testAdminConf)
	if r.err != nil || r.out != "" {
		t.Errorf("got %q, %v", r.out, r.err)
	}
}

func TestTokenDelete(t *testing.T) {
	client := listFixture()
	r := runToken(t, client, listNow, "delete", "--kubeconfig", testAdminConf, "abcdef", "ghijkl.0123456789abcdef")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := "bootstrap token \"abcdef\" deleted\nbootstrap token \"ghijkl\" deleted\n"; r.out != want {
		t.Errorf("got %q, want %q", r.out, want)
	}
	for _, name := range []string{"bootstrap-token-abcdef", "bootstrap-token-ghijkl"} {
		if _, err := client.CoreV1().Secrets("kube-system").Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			t.Errorf("%s still exists", name)
		}
	}

	r = runToken(t, client, listNow, "delete", "--kubeconfig", testAdminConf, "abcdef")
	if r.err == nil || !strings.Contains(r.err.Error(), `failed to delete bootstrap token "abcdef": secrets "bootstrap-token-abcdef" not found`) {
		t.Errorf("unknown token: got %v", r.err)
	}

	client = listFixture()
	for _, args := range [][]string{{"ghijkl", "Bad"}, {}} {
		r = runToken(t, client, listNow, append([]string{"delete", "--kubeconfig", testAdminConf}, args...)...)
		if r.err == nil {
			t.Fatalf("delete %v: no error", args)
		}
		if len(client.Actions()) != 0 {
			t.Fatalf("delete %v: a token was deleted before the bad argument was seen", args)
		}
	}
	if !strings.Contains(r.err.Error(), "missing argument; 'token delete' is missing token of form") {
		t.Errorf("no argument: got %v", r.err)
	}
}

func TestTokenGenerate(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := runToken(t, nil, time.Now(), "generate")
		tok := strings.TrimSuffix(r.out, "\n")
		if r.err != nil || !tokenRE.MatchString(tok) || r.out != tok+"\n" {
			t.Fatalf("got %q, %v", r.out, r.err)
		}
		if r.paths != nil {
			t.Fatal("generate built an API client")
		}
		seen[tok] = true
	}
	if len(seen) != 3 {
		t.Errorf("generated tokens repeat: %v", seen)
	}
	if r := runToken(t, nil, time.Now(), "generate", "x"); r.err == nil {
		t.Error("generate took an argument")
	}
}

// writes lists the API calls that change something.
func writes(client *fake.Clientset) []string {
	var w []string
	for _, a := range client.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			w = append(w, v)
		}
	}
	return w
}

func TestTokenDryRun(t *testing.T) {
	real := listFixture()
	r := runToken(t, real, listNow, "create", "abcdef.0123456789abcdef", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err == nil || r.err.Error() != `a token with id "abcdef" already exists` {
		t.Errorf("dry run of an existing ID: got %v", r.err)
	}
	r = runToken(t, real, listNow, "create", "mnopqr.0123456789abcdef", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantLine := `[dryrun] Would perform action CREATE on resource "secrets" in API group "core/v1" (name "bootstrap-token-mnopqr", namespace "kube-system")`
	if !strings.Contains(r.out, wantLine) || !strings.HasSuffix(r.out, "\nmnopqr.0123456789abcdef\n") {
		t.Errorf("output:\n%s", r.out)
	}
	r = runToken(t, real, listNow, "delete", "abcdef", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err != nil || !strings.HasSuffix(r.out, "bootstrap token \"abcdef\" deleted\n") {
		t.Errorf("got %q, %v", r.out, r.err)
	}
	r = runToken(t, real, listNow, "delete", "mnopqr", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err == nil {
		t.Errorf("dry run deleted a token the cluster does not have")
	}
	r = runToken(t, real, listNow, "list", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err != nil || !strings.Contains(r.out, "\nabcdef.0123456789abcdef   23h ") || !strings.Contains(r.out, "[dryrun] Would perform action LIST") {
		t.Errorf("got %q, %v", r.out, r.err)
	}
	if w := writes(real); len(w) != 0 {
		t.Errorf("dry runs wrote to the cluster: %v", w)
	}
}

// refusing is a cluster whose every call fails in transport.
func refusing() *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, &url.Error{Op: "Get", URL: "https://10.0.0.10:6443/api/v1/namespaces/kube-system/secrets", Err: errors.New("dial tcp 10.0.0.10:6443: connect: connection refused")}
	})
	return c
}

func TestTokenUnreachableAPIServer(t *testing.T) {
	for _, args := range [][]string{{"list"}, {"create"}, {"delete", "abcdef"}} {
		r := runToken(t, refusing(), listNow, append(args, "--kubeconfig", testAdminConf)...)
		want := `could not reach the API server https://10.0.0.10:6443 of kubeconfig "` + testAdminConf + `"`
		if r.err == nil || !strings.Contains(r.err.Error(), want) || !strings.Contains(r.err.Error(), "connection refused") {
			t.Errorf("%v: got %v, want an error containing %q", args, r.err, want)
		}
	}
	// A dry run goes on without the cluster's tokens, as kubeadm's does.
	r := runToken(t, refusing(), listNow, "delete", "abcdef", "--dry-run", "--kubeconfig", testAdminConf)
	if r.err != nil || !strings.Contains(r.out, "[dryrun] Could not read the cluster's bootstrap tokens") || !strings.HasSuffix(r.out, "bootstrap token \"abcdef\" deleted\n") {
		t.Errorf("got %q, %v", r.out, r.err)
	}
}

func TestTokenKubeconfigLookup(t *testing.T) {
	dir := t.TempDir()
	envConf := filepath.Join(dir, "env.conf")
	otherConf := filepath.Join(dir, "other.conf")
	// With KUBECONFIG set, client-go does not look at ~/.kube/config, so
	// the test does not depend on this machine's home directory.
	t.Setenv("KUBECONFIG", envConf+string(filepath.ListSeparator)+otherConf)

	o := &tokenOptions{adminKubeconfig: filepath.Join(dir, "admin.conf")}
	want := "no kubeconfig file found (looked for " + envConf + ", " + otherConf + ", " + o.adminKubeconfig + "); pass --kubeconfig"
	if _, err := o.kubeconfigPath(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("nothing to find: got %v, want %q", err, want)
	}
	steps := []struct {
		create, flag, want string
	}{
		{create: o.adminKubeconfig, want: o.adminKubeconfig},
		{create: otherConf, want: otherConf},
		{create: envConf, want: envConf},
		{flag: "/given.conf", want: "/given.conf"},
	}
	for _, s := range steps {
		if s.create != "" {
			if err := os.WriteFile(s.create, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		o.kubeconfig = s.flag
		if got, err := o.kubeconfigPath(); err != nil || got != s.want {
			t.Errorf("got %q, %v; want %q", got, err, s.want)
		}
	}
}

// The command resolves the kubeconfig before it builds the client.
func TestTokenCommandUsesKubeconfigLookup(t *testing.T) {
	env := filepath.Join(t.TempDir(), "env.conf")
	if err := os.WriteFile(env, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", env)
	r := runToken(t, fake.NewClientset(), listNow, "list")
	if r.err != nil || len(r.paths) != 1 || r.paths[0] != env {
		t.Errorf("client built from %v (%v), want %q", r.paths, r.err, env)
	}
}
