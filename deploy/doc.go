// Package deploy holds no code: it is the folder of the files that run `seqclf serve` in a
// container (Dockerfile), on Kubernetes (kubernetes.yaml) and under KServe
// (kserve-servingruntime.yaml), and of the tests that hold them to the server.
//
// # Basics
//
// The tests (deploy_test.go; the checks in check_test.go) read the three files and check that
// they agree with each other and with the server: every probe is an HTTP GET of a route seqclf
// serve answers, the port the server listens on (its --addr) is the one the image exposes, the
// container declares, the probes knock on and the Service forwards to, and the server runs as
// a non-root user with its model where a volume puts it. Then they start the real server on a
// loopback port, as serve.New and as each command line of the files, and GET each probe path.
//
// # Caveats
//
// The tests read the files; they build no image and apply nothing to a cluster. A field they do
// not read (an image tag, resource figures, the PersistentVolumeClaim's contents) is checked by
// nobody until it runs.
package deploy
