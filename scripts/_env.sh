# Sourced by scripts/serve and scripts/test: apt helper and the project's virtual environment.
# Python packages go into a virtual environment (.venv, or $ICAP_DLP_VENV), never into the system
# Python (PEP 668 on Debian 12 / Ubuntu 24.04). $PYTHON picks the interpreter (default python3).
PY="${PYTHON:-python3}"
VENV="${ICAP_DLP_VENV:-.venv}"
VPY="$VENV/bin/python"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
    echo "== apt-get install $*"
    $SUDO apt-get update -qq
    # RUNLEVEL keeps the distro daemons from starting; tests run private instances.
    $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
    if [ ! -x "$VPY" ]; then
        echo "== $PY -m venv $VENV"
        if ! "$PY" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv  # Debian/Ubuntu ship ensurepip apart from the interpreter
            "$PY" -m venv "$VENV"
        fi
    fi
}
