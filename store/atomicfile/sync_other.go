//go:build !windows

package atomicfile

// dirSyncable is true: POSIX systems make a rename durable only once the
// directory is synced.
const dirSyncable = true
