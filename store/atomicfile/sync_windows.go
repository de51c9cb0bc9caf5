package atomicfile

// dirSyncable is false: Windows opens no directory for FlushFileBuffers.
const dirSyncable = false
