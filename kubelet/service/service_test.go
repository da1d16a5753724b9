package service

import (
	"reflect"
	"testing"
)

func TestParseFlagsEnv(t *testing.T) {
	got := parseFlagsEnv([]byte(`KUBELET_KUBEADM_ARGS="--hostname-override=n1 --node-labels=a=b"` + "\n"))
	if want := []string{"--hostname-override=n1", "--node-labels=a=b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	if got := parseFlagsEnv([]byte(`KUBELET_KUBEADM_ARGS=""`)); len(got) != 0 {
		t.Errorf("empty args = %q", got)
	}
}

func TestSupervisorArgsRunTheAgent(t *testing.T) {
	o := Options{Name: "kubelet", PIDFile: "/run/k.pid", LogFile: "/var/log/k.log", Command: "/bin/kubeadmin", Args: []string{"kubelet", "--config=/c"}}
	want := []string{"supervise", "--name=kubelet", "--pid-file=/run/k.pid", "--log-file=/var/log/k.log", "--", "/bin/kubeadmin", "kubelet", "--config=/c"}
	if got := o.supervisorArgs(); !reflect.DeepEqual(got, want) {
		t.Errorf("supervisorArgs() = %q, want %q", got, want)
	}
}
