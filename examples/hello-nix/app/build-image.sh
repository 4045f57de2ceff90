# Builds a docker-archive tarball (one layer: busybox + httpd) at $out.
# Run by the derivation's builder, busybox sh, with no PATH and no network.
set -eu
bb="$busybox"
mkdir -p "$TMPDIR/bin"
for applet in $("$bb" --list); do ln -s "$bb" "$TMPDIR/bin/$applet"; done
export PATH="$TMPDIR/bin"

root="$TMPDIR/rootfs"
out_dir="$TMPDIR/archive"
mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc" "$out_dir"
cp "$bb" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for applet in $(busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
chmod 1777 "$root/tmp"
cat > "$root/bin/serve" <<'SERVE'
#!/bin/sh
# Writes the page from $GREETING, then serves it.
echo "<h1>${GREETING:-hello}</h1>" > /tmp/index.html
exec httpd -f -v -p 8080 -h /tmp
SERVE
chmod 0755 "$root/bin/serve"

# Fixed timestamps and a sorted file list keep the image bit-for-bit reproducible.
find "$root" -exec touch -h -d '1970-01-01 00:00:01' {} +
(cd "$root" && tar --no-recursion -cf "$TMPDIR/layer.tar" $(find . | sort))
layer=$(sha256sum "$TMPDIR/layer.tar" | cut -d' ' -f1)
mkdir "$out_dir/$layer"
mv "$TMPDIR/layer.tar" "$out_dir/$layer/layer.tar"
echo '1.0' > "$out_dir/$layer/VERSION"
created='1970-01-01T00:00:01Z'
printf '%s' '{"architecture":"amd64","os":"linux","created":"'"$created"'","config":{"Env":["PATH=/bin"],"Cmd":["/bin/serve"],"WorkingDir":"/","ExposedPorts":{"8080/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:'"$layer"'"]},"history":[{"created":"'"$created"'","created_by":"hello-nix flake"}]}' > "$TMPDIR/config.json"
config=$(sha256sum "$TMPDIR/config.json" | cut -d' ' -f1)
mv "$TMPDIR/config.json" "$out_dir/$config.json"
printf '%s' '{"'"$imageName"'":{"'"$imageTag"'":"'"$layer"'"}}' > "$out_dir/repositories"
printf '%s' '[{"Config":"'"$config"'.json","RepoTags":["'"$imageName:$imageTag"'"],"Layers":["'"$layer"'/layer.tar"]}]' > "$out_dir/manifest.json"
find "$out_dir" -exec touch -h -d '1970-01-01 00:00:01' {} +
cd "$out_dir"
tar --no-recursion -cf "$out" $(find * | sort)
