// Imported first by the binary, so it runs before anything queues work on libuv's thread pool (the pool
// starts on first use and reads UV_THREADPOOL_SIZE then). The plugin's pool threads carry blocking netlink
// requests (link deletes wait out an RCU grace period there, up to REAPER_SLOTS at once) and DHCP packet waits,
// beside fs; libuv's default of 4 would let those starve file reads. A value the user set is kept.
process.env.UV_THREADPOOL_SIZE ??= '16';
