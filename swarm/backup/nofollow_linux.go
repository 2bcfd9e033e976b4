package backup

import "syscall"

// syscallNoFollow makes creating a file refuse to follow a symbolic link in its place.
const syscallNoFollow = syscall.O_NOFOLLOW
