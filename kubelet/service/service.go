// Package service starts and stops the node agent (`kubeadmin kubelet`) on
// this host, the one way init and join do it. Where systemd is the init
// system the agent runs as the unit "kubelet" with kubeadm's drop-in, as
// kubeadm runs the upstream kubelet; elsewhere a small detached supervisor
// (`kubeadmin supervise`, see Run) restarts it when it dies, keeps its log
// and records its PID so that reset or a later start can stop it.
//
// A restart of the agent leaves its containers running: it adopts them.
package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// SuperviseCommand is the hidden kubeadmin subcommand that runs Run.
const SuperviseCommand = "supervise"

// agentName names the agent in unit names, log lines and the supervisor.
const agentName = "kubelet"

// Start (re)starts the node agent with the arguments of flagsEnv (the
// content of kubeadm-flags.env): as the systemd unit where systemd runs,
// otherwise under the supervisor.
func Start(flagsEnv []byte) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("failed to find the kubeadmin binary: %w", err)
	}
	if hostSystemd.running() {
		return hostSystemd.startUnit(self)
	}
	args := append([]string{agentName}, AgentFlags(flagsEnv)...)
	o := Options{Name: agentName, PIDFile: constants.KubeletPidFile, LogFile: constants.KubeletLogFile, Command: self, Args: args}
	if err := startSupervisor(o, self, o.supervisorArgs(), supervisorStartTimeout); err != nil {
		return fmt.Errorf("failed to start the node agent: %w", err)
	}
	return nil
}

// Stop stops the node agent, however it runs. An agent that is not running
// is not an error.
func Stop() error {
	if hostSystemd.running() {
		if err := hostSystemd.ctl("stop", agentName); err != nil {
			return err
		}
	}
	return stopSupervisor(constants.KubeletPidFile, supervisorStopTimeout)
}

// SystemdRunning reports whether systemd is the init system, and so
// whether Start uses a unit.
func SystemdRunning() bool { return hostSystemd.running() }

// AgentFlags are the flags the node agent runs with, given the content of
// kubeadm-flags.env: the fixed ones kubeadm's drop-in passes to the
// upstream kubelet, then those of the file. Both ways of starting it use
// the same flags; preflight checks them.
func AgentFlags(flagsEnv []byte) []string {
	return append([]string{
		"--bootstrap-kubeconfig=" + filepath.Join(constants.KubernetesDir, constants.KubeletBootstrapKubeConfigFile),
		"--kubeconfig=" + filepath.Join(constants.KubernetesDir, constants.KubeletKubeConfigFile),
		"--config=" + filepath.Join(constants.KubeletRunDir, constants.KubeletConfigFile),
	}, parseFlagsEnv(flagsEnv)...)
}

// parseFlagsEnv turns the kubeadm-flags.env line
// KUBELET_KUBEADM_ARGS="--a=b --c=d" into arguments, split on white space
// as systemd splits the unquoted variable of the drop-in.
func parseFlagsEnv(env []byte) []string {
	line := strings.TrimSpace(string(env))
	_, value, ok := strings.Cut(line, "=")
	if !ok {
		return nil
	}
	if v, err := strconv.Unquote(value); err == nil {
		value = v
	}
	return strings.Fields(value)
}
