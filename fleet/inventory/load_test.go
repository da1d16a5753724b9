package inventory

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// base is the smallest valid inventory; cases append to its last host or
// to spec.
const base = `apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
spec:
  hosts:
  - address: 10.0.0.10
    role: control-plane
  - address: 10.0.0.11
    role: worker
`

func problemsOf(t *testing.T, data string) []string {
	t.Helper()
	_, err := Parse([]byte(data), "cluster.yaml")
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: %v is not an *Error", err)
	}
	if e.Source != "cluster.yaml" {
		t.Errorf("Source = %q", e.Source)
	}
	return e.Problems
}

func TestParseProblems(t *testing.T) {
	const hostKeyHow = "give the SHA-256 fingerprint as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host, for example \"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\""
	for _, tc := range []struct {
		name string
		data string
		want []string
	}{
		{name: "valid", data: base},
		// Decoding.
		{
			name: "another kind",
			data: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration: {}\n",
			want: []string{`line 1: apiVersion: unsupported value "kubeadm.k8s.io/v1beta4"; begin the file with "apiVersion: kubeadmin.io/v1alpha1" and "kind: Cluster"`},
		},
		{
			name: "no apiVersion",
			data: "kind: Cluster\n",
			want: []string{`apiVersion: required; begin the file with "apiVersion: kubeadmin.io/v1alpha1" and "kind: Cluster"`},
		},
		{
			name: "wrong kind",
			data: "apiVersion: kubeadmin.io/v1alpha1\nkind: Clusters\n",
			want: []string{`line 2: kind: unsupported value "Clusters"; begin the file with "apiVersion: kubeadmin.io/v1alpha1" and "kind: Cluster"`},
		},
		{
			name: "unknown host field",
			data: base + "    rol: worker\n",
			want: []string{`line 9: spec.hosts[1].rol: unknown field (did you mean "role"?); spec.hosts[1] accepts address, bastion, criSocket, hostKey, identityFiles, labels, nodeName, port, reset, role, taints, useAgent, user`},
		},
		{
			name: "wrong type",
			data: base + "    port: abc\n",
			want: []string{`line 9: spec.hosts[1].port: invalid value "abc": expected an integer (int32)`},
		},
		{
			name: "bad duration",
			data: base + "  ssh:\n    connectTimeout: 5\n",
			want: []string{`line 10: spec.ssh.connectTimeout: invalid value 5: expected a duration such as "24h0m0s"`},
		},
		{
			name: "unknown pass-through field",
			data: base + "  kubernetes:\n    clusterConfiguration:\n      networking:\n        podSubnt: 10.0.0.0/8\n",
			want: []string{`line 12: spec.kubernetes.clusterConfiguration.networking.podSubnt: unknown field (did you mean "podSubnet"?); spec.kubernetes.clusterConfiguration.networking accepts dnsDomain, podSubnet, serviceSubnet`},
		},
		{
			name: "several documents",
			data: base + "---\n" + base,
			want: []string{`line 10: the file holds 2 YAML documents; give exactly one (remove the "---" before line 10)`},
		},
		// Hosts.
		{
			name: "no hosts",
			data: "apiVersion: kubeadmin.io/v1alpha1\nkind: Cluster\nspec:\n  hosts: []\n",
			want: []string{`line 4: spec.hosts: no host is listed; add the control plane and the workers, for example "- {address: 10.0.0.10, role: control-plane}"`},
		},
		{
			name: "no control plane",
			data: "apiVersion: kubeadmin.io/v1alpha1\nkind: Cluster\nspec:\n  hosts:\n  - address: a\n    role: worker\n",
			want: []string{"line 4: spec.hosts: no host has role control-plane; give exactly one host role: control-plane"},
		},
		{
			name: "roles, duplicates, address, port",
			data: base + "  - address: 10.0.0.12\n    role: control-plane\n  - address: 10.0.0.10\n    role: master\n  - role: worker\n    port: 70000\n",
			want: []string{
				"line 10: spec.hosts[2].role: a second control plane (spec.hosts[0] is one): joining more control planes is not supported yet; keep one host with role: control-plane and make the others role: worker",
				"line 11: spec.hosts[3].address: 10.0.0.10:22 is also spec.hosts[0].address; list every host once (a host on another SSH port needs its own port)",
				`line 12: spec.hosts[3].role: unsupported value "master"; give control-plane or worker`,
				"line 13: spec.hosts[4].address: required; give the host name, IP address or ~/.ssh/config alias the host is reached at",
				"line 14: spec.hosts[4].port: invalid value 70000: a port is between 1 and 65535; leave it out for 22",
			},
		},
		{
			name: "same address on another port",
			data: base + "  - address: 10.0.0.11\n    port: 2222\n    role: worker\n",
		},
		{
			name: "missing role",
			data: base + "  - address: 10.0.0.12\n",
			want: []string{"line 9: spec.hosts[2].role: required; give control-plane or worker"},
		},
		{
			name: "duplicate node names",
			data: base + "    nodeName: n1\n  - address: 10.0.0.12\n    role: worker\n    nodeName: n1\n",
			want: []string{`line 12: spec.hosts[2].nodeName: "n1" is also spec.hosts[1].nodeName; node names must be unique`},
		},
		{
			name: "node name, host key",
			data: base + "    nodeName: Bad_Name\n    hostKey: MD5:aa\n",
			want: []string{
				`line 9: spec.hosts[1].nodeName: invalid value "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`line 10: spec.hosts[1].hostKey: invalid value "MD5:aa": not a SHA256 fingerprint; ` + hostKeyHow,
			},
		},
		{
			name: "short fingerprint",
			data: base + "    hostKey: SHA256:abc\n",
			want: []string{`line 9: spec.hosts[1].hostKey: invalid value "SHA256:abc": the part after SHA256: must be 43 base64 characters; ` + hostKeyHow},
		},
		{
			name: "address with port or user",
			data: base + "  - address: 10.0.0.15:22\n    role: worker\n  - address: root@10.0.0.16\n    role: worker\n  - address: fd00::1\n    role: worker\n",
			want: []string{
				`line 9: spec.hosts[2].address: invalid value "10.0.0.15:22": give the port in the port field, not in the address`,
				`line 11: spec.hosts[3].address: invalid value "root@10.0.0.16": give the user in the user field, not in the address`,
			},
		},
		{
			name: "labels",
			data: base + "    labels:\n      node-role.kubernetes.io/worker: ''\n      'bad key!': x\n",
			want: []string{`line 9: spec.hosts[1].labels["bad key!"]: invalid label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		},
		{
			name: "taints go through kubeadm's validation",
			data: base + "    taints:\n    - key: a\n      effect: NoSchedul\n",
			want: []string{`line 11: spec.hosts[1].taints[0].effect: Unsupported value: "NoSchedul": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`},
		},
		// Reset.
		{
			name: "control plane reset alone",
			data: strings.Replace(base, "role: control-plane\n", "role: control-plane\n    reset: true\n", 1),
			want: []string{"line 7: spec.hosts[0].reset: the control plane cannot be reset while workers stay: mark every host reset: true to take the whole cluster down (or run kubeadmin fleet reset), or remove reset from the control plane"},
		},
		{
			name: "whole cluster reset",
			data: strings.Replace(base, "role: control-plane\n", "role: control-plane\n    reset: true\n", 1) + "    reset: true\n",
		},
		{name: "worker reset", data: base + "    reset: true\n"},
		// Bastions.
		{
			name: "bastion references",
			data: base + "    bastion:\n      host: nowhere\n  - address: 10.0.0.12\n    role: worker\n    bastion:\n      host: 10.0.0.12\n  - address: 10.0.0.13\n    role: worker\n    bastion:\n      host: 10.0.0.10\n      user: x\n  - address: 10.0.0.14\n    role: worker\n    bastion: {}\n  - address: 10.0.0.15\n    role: worker\n    bastion:\n      host: 10.0.0.10\n      address: 10.0.0.1\n",
			want: []string{
				`line 10: spec.hosts[1].bastion.host: "nowhere" is no host of spec.hosts; give the nodeName or address of one, or give the jump host's address instead of host`,
				`line 14: spec.hosts[2].bastion.host: "10.0.0.12" is this host itself; a host cannot be its own bastion`,
				"line 19: spec.hosts[3].bastion.user: not allowed with bastion.host: that host is reached with its own settings; set user on it",
				"line 22: spec.hosts[4].bastion: give host (the nodeName or address of a host of spec.hosts) or address (a jump host outside the cluster)",
				"line 25: spec.hosts[5].bastion: give either host (a host of spec.hosts) or address (a jump host outside the cluster), not both",
			},
		},
		{
			name: "bastion loop",
			data: base + "    nodeName: w1\n    bastion:\n      host: w2\n  - address: 10.0.0.12\n    role: worker\n    nodeName: w2\n    bastion:\n      host: w1\n",
			want: []string{"line 11: spec.hosts[1].bastion.host: the bastions loop (w1 -> w2 -> w1); make one of them reachable directly"},
		},
		{
			name: "outside bastion",
			data: base + "    bastion:\n      address: jump.example.com\n      port: 0\n      user: 'a b'\n      hostKey: x\n",
			want: []string{
				`line 12: spec.hosts[1].bastion.user: invalid value "a b": a user name has no spaces, "@" or ":"`,
				`line 13: spec.hosts[1].bastion.hostKey: invalid value "x": not a SHA256 fingerprint; ` + hostKeyHow,
			},
		},
		// Limits.
		{
			name: "concurrency and timeouts",
			data: base + "  concurrency:\n    hosts: 0\n    uploads: -1\n  ssh:\n    commandTimeout: 0s\n    identityFiles: ['']\n",
			want: []string{
				"line 10: spec.concurrency.hosts: invalid value 0: must be at least 1; leave it out for the default",
				"line 11: spec.concurrency.uploads: invalid value -1: must be at least 1; leave it out for the default",
				`line 13: spec.ssh.commandTimeout: invalid value "0s": must be positive, for example "30s"; leave it out for the default`,
				"line 14: spec.ssh.identityFiles[0]: empty path; give the path of a private key, for example ~/.ssh/id_ed25519",
			},
		},
		// Kubernetes.
		{
			name: "version",
			data: base + "  kubernetes:\n    version: foo\n",
			want: []string{`line 10: spec.kubernetes.version: "foo" doesn't match patterns for neither semantic version nor labels (stable, latest, ...); give a version such as v1.37.2`},
		},
		{
			name: "endpoint",
			data: base + "  kubernetes:\n    controlPlaneEndpoint: 'a b'\n",
			want: []string{`line 10: spec.kubernetes.controlPlaneEndpoint: invalid value "a b": hostport a b: host 'a b' must be a valid IP address or a valid RFC-1123 DNS subdomain; give "host" or "host:port"`},
		},
		{
			name: "fields the fleet sets",
			data: base + "  kubernetes:\n    clusterConfiguration:\n      kubernetesVersion: v1.37.2\n      clusterName: x\n    initConfiguration:\n      nodeRegistration:\n        name: cp\n        taints: []\n    joinConfiguration:\n      controlPlane: {}\n      discovery:\n        bootstrapToken:\n          token: abcdef.0123456789abcdef\n",
			want: []string{
				"line 11: spec.kubernetes.clusterConfiguration.kubernetesVersion: set by kubeadmin fleet; move the value to spec.kubernetes.version",
				"line 12: spec.kubernetes.clusterConfiguration.clusterName: set by kubeadmin fleet; move the value to metadata.name",
				"line 15: spec.kubernetes.initConfiguration.nodeRegistration.name: set by kubeadmin fleet; set nodeName on the host in spec.hosts",
				"line 16: spec.kubernetes.initConfiguration.nodeRegistration.taints: set by kubeadmin fleet; set taints on the host in spec.hosts",
				"line 18: spec.kubernetes.joinConfiguration.controlPlane: joining control planes is not supported yet; leave it out",
				"line 19: spec.kubernetes.joinConfiguration.discovery: set by kubeadmin fleet; each apply creates a fresh bootstrap token and pins the cluster CA; leave discovery out",
			},
		},
		{
			name: "kubeadm's validation of pass-through fields",
			data: base + "  kubernetes:\n    clusterConfiguration:\n      networking:\n        podSubnet: 10.0.0.0/33\n    initConfiguration:\n      certificateKey: xyz\n    joinConfiguration:\n      caCertPath: relative.crt\n",
			want: []string{
				`line 12: spec.kubernetes.clusterConfiguration.networking.podSubnet: Invalid value: "10.0.0.0/33": couldn't parse subnet; give a CIDR such as 10.244.0.0/16, or an IPv4 and an IPv6 CIDR separated by a comma`,
				`line 14: spec.kubernetes.initConfiguration.certificateKey: Invalid value: "xyz": certificate key decoding error: encoding/hex: invalid byte: U+0078 'x'; give 64 hexadecimal characters (see 'kubeadmin certs certificate-key')`,
				`line 16: spec.kubernetes.joinConfiguration.caCertPath: Invalid value: "relative.crt": the CA certificate path must be an absolute path to a .crt file, for example /etc/kubernetes/pki/ca.crt`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problemsOf(t, tc.data)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}
