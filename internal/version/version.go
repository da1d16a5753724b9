// Package version reports kubeadmin's own build version and the Kubernetes
// version it deploys by default. The build stamps the variables with
// -ldflags "-X github.com/kubeadmin/kubeadmin/version.gitVersion=...".
package version

import (
	"fmt"
	"runtime"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

var (
	gitVersion = "v0.1.0-dev"
	gitCommit  = ""
	buildDate  = ""
)

// Info describes a kubeadmin build.
type Info struct {
	GitVersion        string `json:"gitVersion"`
	GitCommit         string `json:"gitCommit"`
	BuildDate         string `json:"buildDate"`
	GoVersion         string `json:"goVersion"`
	Compiler          string `json:"compiler"`
	Platform          string `json:"platform"`
	KubernetesVersion string `json:"kubernetesVersion"`
}

// Get returns the version of this binary.
func Get() Info {
	return Info{
		GitVersion:        gitVersion,
		GitCommit:         gitCommit,
		BuildDate:         buildDate,
		GoVersion:         runtime.Version(),
		Compiler:          runtime.Compiler,
		Platform:          fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
		KubernetesVersion: constants.KubernetesVersion,
	}
}
