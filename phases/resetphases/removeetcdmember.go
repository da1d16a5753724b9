package resetphases

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newRemoveEtcdMemberPhase() workflow.Phase {
	return workflow.Phase{Name: "remove-etcd-member", Short: "Remove a local etcd member.", Run: workflow.RunAs(runRemoveEtcdMember)}
}

func runRemoveEtcdMember(d removeEtcdMemberData) error {
	out, etcdDir := d.Out(), d.EtcdDataDir()
	if _, err := os.Stat(manifests.ManifestPath(filepath.Join(d.KubernetesDir(), constants.ManifestsSubDirName), constants.Etcd)); err != nil {
		fmt.Fprintln(out, "[reset] No etcd config found. Assuming external etcd")
		fmt.Fprintln(out, "[reset] Please, manually reset etcd to prevent further issues")
		return nil
	}
	if d.Cfg().DryRun {
		fmt.Fprintf(out, "[dryrun] Would delete contents of the etcd data directory: %v\n", etcdDir)
		return nil
	}
	// A single stacked member is all kubeadmin init creates; its removal
	// from the member list is moot, so only its data goes.
	if err := cleanDir(etcdDir, nil); err != nil {
		fmt.Fprintf(out, "[reset] Failed to delete contents of the etcd directory: %q, error: %v\n", etcdDir, err)
		return nil
	}
	fmt.Fprintf(out, "[reset] Deleted contents of the etcd data directory: %v\n", etcdDir)
	return nil
}
