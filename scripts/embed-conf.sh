#!/bin/sh
# embed-conf.sh FILE - print a C file defining config_default_text, the
# embedded default configuration, from FILE (kept readable in conf/).
set -eu
echo '/* generated from '"$1"' by scripts/embed-conf.sh; do not edit */'
echo '#include "config.h"'
echo 'const char config_default_text[] ='
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	"/' -e 's/$/\\n"/' "$1"
echo ';'
