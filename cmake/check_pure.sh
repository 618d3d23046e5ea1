#!/bin/sh
# check_pure.sh -- fails the build when the pure library (enmon_pure) reaches beyond computation:
# every symbol it uses and does not define itself must be on the allowlist below (libc string,
# memory and number formatting, libm, UTC calendar arithmetic, compiler and sanitizer runtime).
# No file, socket, clock, environment, thread, logging or third-party call passes.
#   check_pure.sh NM ARCHIVE
set -eu
nm=$1
lib=$2
allowed='^(mem(cpy|set|move|cmp|chr)|str(len|nlen|cmp|ncmp|chr|rchr|str|spn|cspn|tod|tof|tol|toll|toul|toull|casecmp|ncasecmp|pbrk|dup|ndup)|v?snprintf|v?sscanf|__isoc99_v?sscanf|__isoc23_v?sscanf|__isoc23_strto.*|qsort|bsearch|malloc|calloc|realloc|free|l?l?abs|timegm|gmtime_r|toupper|tolower|isalpha|isdigit|isspace|(sincos|sqrt|pow|fabs|floor|ceil|round|lround|llround|trunc|sin|cos|tan|asin|acos|atan|atan2|exp|log|log10|log2|fmod|modf|hypot|cbrt|fmin|fmax|nan|copysign|nearbyint|rint|lrint|llrint|frexp|ldexp|expm1|log1p|sinh|cosh|tanh)f?|__(stack_chk_fail|assert_fail|ctype_b_loc|ctype_tolower_loc|ctype_toupper_loc|errno_location|(sqrt|pow|exp|log|fmod|atan2|acos|asin)_finite)|(__asan_|__ubsan_|__sanitizer_|__lsan_|__gcov|__llvm_|__sancov|_GLOBAL_OFFSET_TABLE_).*)$'
defined=$("$nm" -g --defined-only "$lib" 2>/dev/null | awk 'NF >= 3 { print $3 }' | sort -u)
used=$("$nm" -g -u "$lib" 2>/dev/null | awk '{ print $NF }' | grep -v ':$' | sort -u)
bad=0
for s in $used; do
  echo "$defined" | grep -qx "$s" && continue
  echo "$s" | grep -Eq "$allowed" && continue
  echo "check_pure: $lib uses $s, which is not pure computation (cmake/check_pure.sh)" >&2
  bad=1
done
exit $bad
