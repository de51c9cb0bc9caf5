#!/bin/sh
# build.sh builds borderpost's release artefacts into OUT, reproducibly:
#   borderpost_<v>_<arch>.deb            the Debian package (nfpm)
#   borderpost_<v>_<arch>.cdx.json       CycloneDX SBOM of its Go modules
#   borderpost_<v>_windows_amd64.exe     the Windows service build, signed
#   borderpost-test-ca.pem               the test CA that signed it
#   SHA256SUMS
# and keeps the unsigned pieces in OUT/stage (stage/ and stage-windows/)
# for the reproducibility test.
#
# Inputs (environment): VERSION, COMMIT, SOURCE_DATE_EPOCH (the build date:
# taken from the commit, never the clock), OUT (default bin/package),
# GOARCH (default amd64), WINDOWS=0 to skip the Windows build.
# Run from anywhere; it works in the repository that holds it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

GO=${GO:-go}
NFPM=${NFPM:-"$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"}
CDX=${CDX:-"$GO run github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0"}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
OUT=${OUT:-bin/package}
GOARCH=${GOARCH:-amd64}
WINDOWS=${WINDOWS:-1}
export SOURCE_DATE_EPOCH GOARCH

BUILD_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
# Debian versions start with a digit: v1.2.3-4-gabc -> 1.2.3+4.gabc; a bare
# commit (no tag) -> 0.0.0~git<commit time>.<commit>, newer commits sorting later.
if printf '%s' "$VERSION" | grep -Eq '^v?[0-9]+\.[0-9]+'; then
	DEB_VERSION=$(printf '%s' "${VERSION#v}" | sed 's/-/+/; s/-/./g')
else
	DEB_VERSION="0.0.0~git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S).$(printf '%s' "$VERSION" | tr -c 'A-Za-z0-9.+~\n' '.')"
fi
export DEB_VERSION BUILD_DATE

LDFLAGS="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT -X main.buildDate=$BUILD_DATE"
# Nothing of the builder's machine may reach the binary: no paths
# (-trimpath), no VCS state (-buildvcs=false, the commit is stamped), no
# cgo toolchain. Position-independent, as Debian builds its binaries.
build() { # GOOS output
	CGO_ENABLED=0 GOOS=$1 $GO build -trimpath -buildvcs=false -buildmode=pie -ldflags "$LDFLAGS" -o "$2" ./agent
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
stage="$OUT/stage"
rm -rf "$stage" && mkdir -p "$stage"

build linux "$stage/borderpost"
# The unit comes from the agent itself, so the package and
# `borderpost install` run it the same way.
GOARCH= $GO run -buildvcs=false ./agent unit --executable /usr/bin/borderpost \
	--config /etc/borderpost/agent.yaml --data-dir /var/lib/borderpost >"$stage/borderpost.service"
# The manual page too: generated from the commands' own help.
GOARCH= $GO run -buildvcs=false -ldflags "-X main.version=$VERSION -X main.buildDate=$BUILD_DATE" ./agent man | gzip -n -9 >"$stage/borderpost.1.gz"
cp configs/agent.example.yaml "$stage/agent.yaml"
cp packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm packaging/deb/copyright packaging/deb/lintian-overrides packaging/INSTALL.md "$stage/"
# nfpm expands the environment in version and arch but not in mtime.
sed "s/\${BUILD_DATE}/$BUILD_DATE/" packaging/nfpm.yaml >"$stage/nfpm.yaml"
{
	printf 'borderpost (%s) stable; urgency=medium\n\n' "$DEB_VERSION"
	printf '  * Build of commit %s.\n\n' "$COMMIT"
	printf ' -- borderpost maintainers <borderpost@example.invalid>  %s\n' "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -n -9 >"$stage/changelog.gz"
# Files enter the package with the build date as mtime.
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb="borderpost_${DEB_VERSION}_${GOARCH}.deb"
rm -f "$OUT/$deb"
(cd "$stage" && $NFPM package --config nfpm.yaml --packager deb --target "$OUT/$deb" >"$OUT/nfpm.log" 2>&1) || {
	cat "$OUT/nfpm.log" >&2
	exit 1
}

GOOS=linux CGO_ENABLED=0 $CDX app -json -noserial -notimestamp -licenses -main agent \
	-output "$OUT/borderpost_${DEB_VERSION}_${GOARCH}.cdx.json" "$root" 2>/dev/null

if [ "$WINDOWS" = 1 ]; then
	win="$OUT/stage-windows"
	rm -rf "$win" && mkdir -p "$win"
	GOARCH=amd64 build windows "$win/borderpost.exe"
	# A test code-signing certificate, made once per output folder: a CA
	# and a leaf it signs. Posts get executables signed with the operator's
	# real certificate; this one proves the signing step works.
	ca="$OUT/testcert"
	if [ ! -f "$ca/signer.pem" ]; then
		mkdir -p "$ca"
		openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=borderpost test CA" \
			-keyout "$ca/ca-key.pem" -out "$ca/ca.pem" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		openssl req -newkey rsa:3072 -nodes -subj "/CN=borderpost test code signing" \
			-keyout "$ca/signer-key.pem" -out "$ca/signer.csr" 2>/dev/null
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$ca/ext.cnf"
		openssl x509 -req -in "$ca/signer.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
			-days 3650 -extfile "$ca/ext.cnf" -out "$ca/signer.pem" 2>/dev/null
		chmod 0600 "$ca"/*-key.pem
	fi
	exe="$OUT/borderpost_${DEB_VERSION}_windows_amd64.exe"
	rm -f "$exe"
	# -time: the signing time is the build date, not the clock.
	osslsigncode sign -certs "$ca/signer.pem" -key "$ca/signer-key.pem" -h sha256 \
		-n "borderpost agent" -i https://example.invalid/borderpost -time "$SOURCE_DATE_EPOCH" \
		-in "$win/borderpost.exe" -out "$exe" >/dev/null
	cp "$ca/ca.pem" "$OUT/borderpost-test-ca.pem"
fi

(cd "$OUT" && sha256sum borderpost_"$DEB_VERSION"_* >SHA256SUMS)
echo "$OUT/$deb"
