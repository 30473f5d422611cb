#!/bin/sh
# embed-rules.sh FILE... - print a C file defining selfscan_builtin_rules,
# the default self-scan rule set compiled into the binary (from lua/rules/,
# kept readable there), so that the embedded default config needs no files.
set -eu
echo '/* generated from lua/rules by scripts/embed-rules.sh; do not edit */'
echo '#include <stddef.h>'
echo '#include "selfscan.h"'
echo 'const struct lrule_src selfscan_builtin_rules[] = {'
for f in "$@"; do
	echo "	{ \"rules/$(basename "$f")\","
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	  "/' -e 's/$/\\n"/' "$f"
	echo '	},'
done
echo '};'
echo "const size_t selfscan_builtin_count = $#;"
