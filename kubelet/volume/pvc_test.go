package volume

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func claimPod(claim string) *v1.Pod {
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
		PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	return pod
}

func boundClaim(name, pv string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)}}
	c.Spec.VolumeName = pv
	c.Status.Phase = v1.ClaimBound
	return c
}

func pvFor(name string, claim *v1.PersistentVolumeClaim, src v1.PersistentVolumeSource) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
	pv.Spec.PersistentVolumeSource = src
	pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
	return pv
}

func TestPersistentVolumeClaim(t *testing.T) {
	hostDir := filepath.Join(t.TempDir(), "pv-host")
	localDir := t.TempDir()
	src := newFakeSources()
	add := func(claim, pv string, s v1.PersistentVolumeSource) {
		c := boundClaim(claim, pv)
		src.claims["default/"+claim] = c
		src.pvs[pv] = pvFor(pv, c, s)
	}
	add("host", "pv-host", v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: hostDir, Type: ptr(v1.HostPathDirectoryOrCreate)}})
	add("local", "pv-local", v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: localDir}})
	add("nfs", "pv-nfs", v1.PersistentVolumeSource{NFS: &v1.NFSVolumeSource{Server: "s", Path: "/e"}})
	add("missing-local", "pv-missing", v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: filepath.Join(localDir, "nope")}})
	pending := boundClaim("pending", "")
	pending.Status.Phase = v1.ClaimPending
	src.claims["default/pending"] = pending
	src.claims["default/no-pv"] = boundClaim("no-pv", "pv-gone")
	other := boundClaim("stolen", "pv-other")
	src.claims["default/stolen"] = other
	src.pvs["pv-other"] = pvFor("pv-other", boundClaim("someone-else", "pv-other"), v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: localDir}})

	tests := []struct{ claim, want, wantErr string }{
		{claim: "host", want: hostDir},
		{claim: "local", want: localDir},
		{claim: "nfs", wantErr: `MountVolume.SetUp failed for volume "data" : persistentvolume "pv-nfs" is of type nfs; this agent supports only hostPath and local persistent volumes`},
		{claim: "pending", wantErr: `MountVolume.SetUp failed for volume "data" : persistentvolumeclaim "pending" is not bound (phase Pending); the pod waits until a persistent volume is bound to it`},
		{claim: "gone", wantErr: `MountVolume.SetUp failed for volume "data" : persistentvolumeclaim "gone" not found`},
		{claim: "no-pv", wantErr: `MountVolume.SetUp failed for volume "data" : persistentvolume "pv-gone" not found`},
		{claim: "stolen", wantErr: `MountVolume.SetUp failed for volume "data" : persistentvolume "pv-other" is not bound to persistentvolumeclaim "stolen"`},
		{claim: "missing-local", wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.claim, func(t *testing.T) {
			paths, err := Prepare(context.Background(), claimPod(tt.claim), t.TempDir(), Env{Sources: src})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("refused: %v", err)
			case paths["data"] != tt.want:
				t.Errorf("path = %q, want %q", paths["data"], tt.want)
			}
		})
	}
}
