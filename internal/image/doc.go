// Package image owns barge's on-disk image cache: it pulls OCI and Docker images from registries
// with go-containerregistry, keeps each one by manifest digest under one directory, and unpacks
// each exactly once into a read-only root filesystem that sandboxes mount as the lower layer of
// an overlay. It does not run anything and never writes into a root filesystem after it is
// published.
//
// Layout of a Store directory:
//
//	sha256-<hex>/rootfs       the flattened image, all layers applied in order
//	sha256-<hex>/config.json  Entrypoint, Cmd, Env, ...; written last, so its presence marks a
//	                          complete unpack
//	refs.json                 last known digest of every reference pulled, for offline restarts
//	.tmp-*                    unpacks in progress; moved into place with one rename, removed by
//	                          New when a crash left them behind
//
// Unpacking trusts nothing in the image: every entry is written through an os.Root opened on the
// new root filesystem, so names and hard-link targets that would resolve outside it (absolute
// paths, "..", symlinks pointing out) fail the pull with a PullError instead of writing anything.
//
// The package subdirectory imagetest runs a loopback registry and pushes test images, for the
// tests of this package and of the packages that run images.
package image
