// Package packaging holds how borderpost is built and shipped: the Debian
// package (nfpm.yaml, deb/ maintainer scripts, build.sh), the signed
// Windows service build (windows/README.md) and the technician's install
// guide (INSTALL.md).
//
// Its tests build the artefacts and install, upgrade, remove and purge the
// package on the machine itself, so they run only as root and only with the
// build tag `package` (`make test-package`); the default `go test ./...`
// sees no test here. They must never touch a borderpost installation they
// did not make: they refuse to start when the package is already installed.
package packaging
