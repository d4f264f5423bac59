#!/bin/sh
# Lists the files a post's walk crosses, from POST /api/v1/statuses to the
# signed delivery received by a remote server: the files whose coverage
# counts grow when api's TestPostWalk posts, over the same run without the
# post (set-up, workers and polling excluded). Run from the module root.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for mode in idle post; do
	PASSERELLE_WALK=$mode go test -count=1 -run '^TestPostWalk$' -covermode=count \
		-coverpkg=./... -coverprofile="$dir/$mode.out" ./api >/dev/null
done
# Sum the counts per file in each run; print the files that grew.
awk 'FNR == 1 { run++; next }
	{ split($1, a, ":"); n = $NF; if (run == 1) idle[a[1]] += n; else post[a[1]] += n }
	END { for (f in post) if (post[f] > idle[f]) print f }' "$dir/idle.out" "$dir/post.out" |
	sed 's|^github.com/passerelle/passerelle/||' | sort > "$dir/files"
cat "$dir/files"
echo "files: $(wc -l < "$dir/files")  packages: $(xargs -n1 dirname < "$dir/files" | sort -u | wc -l)"
