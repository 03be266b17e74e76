# Sourced by bin/socketbox and bin/run-with-socketbox, with $root the package: sets $native to
# the directory of the build products, chosen as src/native/build-products.ts chooses it:
# build/Release when it holds them, else this machine's prebuild (a package installed without
# running its install script, npm --ignore-scripts; docs/packaging.md).
native=$root/build/Release
if [ ! -f "$native/socketbox_server.node" ]; then
  # uname's machine names, as Node's process.arch spells them.
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    armv*) arch=arm ;;
    i?86) arch=ia32 ;;
    ppc64le) arch=ppc64 ;;
    *) arch=$(uname -m) ;;
  esac
  if [ -f "$root/prebuilds/linux-$arch/socketbox_server.node" ]; then native=$root/prebuilds/linux-$arch; fi
fi
