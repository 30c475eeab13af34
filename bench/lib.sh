# Shared by the bench scripts (sourced, not run).

# apt_install PKG...: installs the packages given (the missing ones each
# script found), with sudo when not root; nothing when none are given.
apt_install() {
    [ $# -gt 0 ] || return 0
    echo "installing $* ..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
