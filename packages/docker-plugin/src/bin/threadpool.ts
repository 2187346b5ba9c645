// Imported first by the binary, so it runs before anything queues work on libuv's thread pool (the pool
// starts on first use and reads UV_THREADPOOL_SIZE then). The plugin's pool threads carry DHCP packet waits
// (one per lease being asked for, up to its timeout) beside fs; libuv's default of 4 would let those starve file
// reads. Link deletes wait on threads of their own (the netlink package's nlTransact). A value the user set is kept.
process.env.UV_THREADPOOL_SIZE ??= '16';
