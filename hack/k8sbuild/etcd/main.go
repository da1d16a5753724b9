// Command etcd is upstream etcd built from its published Go module: a tiny
// main that hands over to etcdmain.Main, exactly as etcd's own server/main.go
// does. hack/images.sh builds it statically for the registry.k8s.io/etcd image.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
