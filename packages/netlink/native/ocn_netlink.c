// ocn_netlink: the few system calls JavaScript cannot make, for @ovs-container-network/netlink.
//
//   callInNetns(fd, fn)      setns(fd, CLONE_NEWNET) on the calling (main) thread, call fn synchronously,
//                            setns back. Sockets created inside fn belong to the target namespace for their
//                            whole life (a socket's namespace is fixed at socket(2)); this is what Go
//                            netlink's NewHandleAt does. setns(2) affects only the calling thread, so libuv's
//                            pool threads never see the switch, and nothing can run on this thread between
//                            the two setns calls because fn is synchronous.
//   inetSocket()             AF_INET datagram socket for SIOCETHTOOL, in the calling thread's namespace.
//   routeSocket()            blocking NETLINK_ROUTE socket for nlTransact, in the calling thread's namespace.
//   nlTransact(fd, msg)      sendmsg + wait for the kernel's ACK on one of the addon's own worker threads
//                            (Promise of errno, 0 = ok), so a request stuck in the kernel never holds up exit.
//                            RTM_DELLINK runs synchronously inside sendmsg and waits for an RCU grace period
//                            (synchronize_net, ~16 ms): done on the main thread it stalls the event loop.
//   nlRequest(fd, msgs)      the same for one or more requests in one sendmsg (the kernel handles them in
//                            order, netlink_rcv_skb): Promise of every reply whose seq is one of theirs, raw,
//                            once each has its NLMSG_ERROR (ACK) or NLMSG_DONE. rtnetlink requests run inside
//                            sendmsg under the rtnl lock, so on the main thread each one would stall the
//                            event loop for as long as another process (ovs-vswitchd) holds that lock.
//   txChecksumAsync(sock, ifname, on)  txChecksum's set on a worker thread: Promise of the state after. The
//                            kernel takes the rtnl lock for every SIOCETHTOOL (net/ethtool/ioctl.c, dev_ethtool).
//   txChecksum(sock, ifname[, on])  ETHTOOL_GTXCSUM / ETHTOOL_STXCSUM. The kernel maps STXCSUM to the whole
//                            checksum feature mask (NETIF_F_CSUM_MASK | FCOE_CRC | SCTP_CRC), exactly what
//                            `ethtool -K IF tx off` changes (net/ethtool/ioctl.c, ethtool_get_feature_mask).
//   netnsAdd(dir, name) / netnsDelete(dir, name)   what `ip netns add/del` do (iproute2 ip/ipnetns.c).
//   closeFd(fd)
//   packetSocket(ifname)     AF_PACKET SOCK_RAW socket bound to ifname in the calling thread's namespace, for
//                            a DHCP client acting for a MAC that is not the interface's (packet(7)). It sees
//                            only incoming ARP and UDP-to-port-68 IPv4 frames (a classic BPF filter).
//   packetSend(fd, frame)    send one whole Ethernet frame (the caller builds every header).
//   packetRecv(fd, ms)       Promise of the next incoming frame (Buffer), or null after ms; waits on a pool
//                            thread. Do not close fd while a packetRecv on it is pending.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call)                                                                                          \
  do {                                                                                                       \
    if ((call) != napi_ok) return NULL;                                                                      \
  } while (0)

// Error{message, errno, syscall}; the JavaScript side maps errno to its name and its own error class.
static napi_value errno_error(napi_env env, int err, const char *syscall) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value m, e, n, s;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, e, "syscall", s);
  return e;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, errno_error(env, err, syscall));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int get_str(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len < size - 1;
}

static napi_value make_int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

static napi_value undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// ---- callInNetns(fd, fn) ----------------------------------------------------------------------------------
static napi_value CallInNetns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int32_t fd;
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_type(env, "callInNetns(fd, fn): fd must be a number");
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) return throw_errno(env, errno, "open /proc/thread-self/ns/net");
  if (setns(fd, CLONE_NEWNET) != 0) {
    int err = errno;
    close(orig);
    return throw_errno(env, err, "setns");
  }
  napi_value result = NULL;
  napi_status st = napi_call_function(env, self, argv[1], 0, NULL, &result);
  if (setns(orig, CLONE_NEWNET) != 0) {
    // Continuing on the main thread in the wrong namespace would silently misdirect every later socket.
    napi_fatal_error("ocn_netlink.callInNetns", NAPI_AUTO_LENGTH, "setns back to the original namespace failed",
                     NAPI_AUTO_LENGTH);
  }
  close(orig);
  if (st != napi_ok) return NULL;  // fn threw: the exception is pending and propagates
  return result;
}

// ---- sockets -----------------------------------------------------------------------------------------------
static napi_value InetSocket(napi_env env, napi_callback_info info) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_INET)");
  return make_int(env, fd);
}

static napi_value RouteSocket(napi_env env, napi_callback_info info) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_NETLINK)");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind(AF_NETLINK)");
  }
  // Room for a batch's answers (nlRequest): the kernel drops what does not fit. FORCE needs CAP_NET_ADMIN;
  // without it the size is capped at net.core.rmem_max.
  int rcvbuf = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // A kernel that never answers must not pin a pool thread forever.
  struct timeval tv = {.tv_sec = 30, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return make_int(env, fd);
}

static napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "closeFd(fd): fd must be a number");
  if (close(fd) != 0) return throw_errno(env, errno, "close");
  return undefined(env);
}

// ---- nlTransact(fd, msg): Promise<number> ------------------------------------------------------------------
typedef struct transact {
  struct transact *next; // in the worker queue
  napi_threadsafe_function tsfn;
  napi_deferred deferred;
  napi_ref buf_ref;
  int fd;
  void *data;
  size_t len;
  int result;  // 0, or a positive errno from the kernel's NLMSG_ERROR
  int sys_err; // a positive errno from sendmsg/recv
  const char *sys_call;
  int collect;   // nlRequest: keep the replies in out
  int ethtool;   // txChecksumAsync: set TX checksumming of ifname on fd to on; result is the state after
  int on;
  char ifname[IFNAMSIZ + 1];
  char *out;     // the replies (malloc'd), out_len bytes
  size_t out_len, out_cap;
} transact_t;

static int txcsum(int fd, const char *name, int on, bool *state, const char **fail);

// Appends one message, padded to NLMSG_ALIGNTO, to t->out; 0 or ENOMEM.
static int collect_msg(transact_t *t, const struct nlmsghdr *h) {
  size_t need = NLMSG_ALIGN(h->nlmsg_len);
  if (t->out_len + need > t->out_cap) {
    size_t cap = t->out_cap ? t->out_cap : 4096;
    while (cap < t->out_len + need) cap *= 2;
    char *p = realloc(t->out, cap);
    if (!p) return ENOMEM;
    t->out = p;
    t->out_cap = cap;
  }
  memcpy(t->out + t->out_len, h, h->nlmsg_len);
  memset(t->out + t->out_len + h->nlmsg_len, 0, need - h->nlmsg_len);
  t->out_len += need;
  return 0;
}

// nlRequest: every request in t->data goes in one sendto; replies are kept until each request has its
// terminating NLMSG_ERROR or NLMSG_DONE. Requests carry distinct seqs in [lo, hi] (the caller's promise).
static void request_execute(transact_t *t) {
  uint32_t lo = UINT32_MAX, hi = 0;
  unsigned expect = 0;
  size_t rest = t->len;
  for (struct nlmsghdr *h = (struct nlmsghdr *)t->data; NLMSG_OK(h, rest); h = NLMSG_NEXT(h, rest)) {
    if (h->nlmsg_seq < lo) lo = h->nlmsg_seq;
    if (h->nlmsg_seq > hi) hi = h->nlmsg_seq;
    expect++;
  }
  if (expect == 0 || rest != 0) {
    t->sys_err = EINVAL;
    t->sys_call = "nlRequest";
    return;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(t->fd, t->data, t->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    t->sys_err = errno;
    t->sys_call = "sendto";
    return;
  }
  // The kernel caps one dump part at 32 KiB (af_netlink.c, netlink_dump); a unicast answer larger than the
  // buffer is reported, never cut silently (MSG_TRUNC returns the real length).
  enum { BUF = 65536 };
  char *buf = malloc(BUF);
  if (!buf) {
    t->sys_err = ENOMEM;
    t->sys_call = "malloc";
    return;
  }
  unsigned done = 0;
  while (done < expect) {
    ssize_t n = recv(t->fd, buf, BUF, MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      t->sys_err = errno;
      t->sys_call = "recv";
      break;
    }
    if (n > BUF) {
      t->sys_err = EMSGSIZE;
      t->sys_call = "recv";
      break;
    }
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq < lo || h->nlmsg_seq > hi) continue; // a stale answer: not ours
      int err = collect_msg(t, h);
      if (err) {
        t->sys_err = err;
        t->sys_call = "realloc";
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) done++;
    }
    if (t->sys_err) break;
  }
  free(buf);
}

static void transact_execute(transact_t *t) {
  if (t->len < sizeof(struct nlmsghdr)) {
    t->sys_err = EINVAL;
    t->sys_call = "nlTransact";
    return;
  }
  uint32_t seq = ((struct nlmsghdr *)t->data)->nlmsg_seq;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(t->fd, t->data, t->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    t->sys_err = errno;
    t->sys_call = "sendto";
    return;
  }
  char buf[16384] __attribute__((aligned(4)));
  for (;;) {
    ssize_t n = recv(t->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      t->sys_err = errno;
      t->sys_call = "recv";
      return;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;  // not ours (each socket carries one request at a time)
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        t->result = -e->error;
        return;
      }
      if (h->nlmsg_type == NLMSG_DONE) return;
    }
  }
}

// One thread-safe function per environment carries every answer back to the main thread. It keeps the event
// loop alive only while a request is pending (as libuv's async work would), so a handle at rest holds nothing.
typedef struct {
  napi_threadsafe_function tsfn;
  uint32_t pending;
} transact_env_t;

// Runs on the main thread once a request's thread has its answer. env is NULL when the environment is being
// torn down: nothing is left to resolve then.
static void transact_complete(napi_env env, napi_value js_cb, void *context, void *data) {
  transact_t *t = data;
  if (env == NULL) {
    free(t->out);
    free(t);
    return;
  }
  transact_env_t *te = context;
  if (--te->pending == 0) napi_unref_threadsafe_function(env, te->tsfn);
  napi_value v;
  if (t->sys_err) {
    napi_reject_deferred(env, t->deferred, errno_error(env, t->sys_err, t->sys_call));
  } else if (t->ethtool) {
    napi_get_boolean(env, t->result != 0, &v);
    napi_resolve_deferred(env, t->deferred, v);
  } else if (t->collect) {
    if (napi_create_buffer_copy(env, t->out_len, t->out_len ? t->out : "", NULL, &v) == napi_ok)
      napi_resolve_deferred(env, t->deferred, v);
    else napi_reject_deferred(env, t->deferred, errno_error(env, ENOMEM, "nlRequest"));
  } else {
    napi_create_int32(env, t->result, &v);
    napi_resolve_deferred(env, t->deferred, v);
  }
  if (t->buf_ref) napi_delete_reference(env, t->buf_ref);
  free(t->out);
  free(t);
}

static void transact_env_finalize(napi_env env, void *data, void *hint) { free(data); }

// Requests wait on the addon's own worker threads, not on libuv's pool: a pool thread stuck in the kernel (a
// link delete waiting for its device's references to drop) would block process.exit(), which joins the pool,
// and would take one of the pool's 4 default threads from fs and DNS while it waits. Workers are detached and
// long-lived: one is started whenever more requests are queued than workers wait idle, so each request has a
// thread at once (a delete blocks its thread for the RCU wait), and the count stays at the most ever in flight
// together. A long-lived thread also deletes faster than a new one (16 against 20–24 ms per RTM_DELLINK here,
// bench/blocking.ts). Workers start with every signal blocked, so signals stay with the main thread.
static pthread_mutex_t workers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_cv = PTHREAD_COND_INITIALIZER;
static transact_t *queue_head, *queue_tail;
static unsigned queued, idle_workers;

static void *transact_worker(void *p) {
  pthread_mutex_lock(&workers_mu);
  for (;;) {
    while (queued == 0) {
      idle_workers++;
      pthread_cond_wait(&workers_cv, &workers_mu);
      idle_workers--;
    }
    transact_t *t = queue_head;
    queue_head = t->next;
    if (queue_head == NULL) queue_tail = NULL;
    queued--;
    pthread_mutex_unlock(&workers_mu);
    napi_threadsafe_function tsfn = t->tsfn;
    if (t->collect) request_execute(t);
    else if (t->ethtool) {
      bool state = false;
      t->sys_err = txcsum(t->fd, t->ifname, t->on, &state, &t->sys_call);
      t->result = state;
    } else transact_execute(t);
    if (napi_call_threadsafe_function(tsfn, t, napi_tsfn_blocking) != napi_ok) free(t);
    pthread_mutex_lock(&workers_mu);
  }
  return NULL;
}

// Queues t for a worker; 0, or the errno of a failed pthread_create (then t is not queued).
static int transact_submit(transact_t *t) {
  pthread_mutex_lock(&workers_mu);
  t->next = NULL;
  if (queue_tail) queue_tail->next = t;
  else queue_head = t;
  queue_tail = t;
  queued++;
  int err = 0;
  if (queued <= idle_workers) pthread_cond_signal(&workers_cv);
  else {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    err = pthread_create(&th, &attr, transact_worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err != 0 && idle_workers == 0) {
      // Unqueue it: it is the tail, and nobody took it (no worker is idle and none started).
      transact_t *prev = NULL;
      for (transact_t *q = queue_head; q != t; q = q->next) prev = q;
      if (prev) prev->next = NULL;
      else queue_head = NULL;
      queue_tail = prev;
      queued--;
    } else err = 0; // an idle worker will take it
  }
  pthread_mutex_unlock(&workers_mu);
  return err;
}

static transact_env_t *transact_env(napi_env env) {
  transact_env_t *te = NULL;
  if (napi_get_instance_data(env, (void **)&te) == napi_ok && te != NULL) return te;
  te = calloc(1, sizeof *te);
  if (!te) return NULL;
  napi_value name;
  if (napi_create_string_utf8(env, "ocn_netlink.nlTransact", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, te, transact_complete,
                                      &te->tsfn) != napi_ok) {
    free(te);
    return NULL;
  }
  napi_unref_threadsafe_function(env, te->tsfn);
  if (napi_set_instance_data(env, te, transact_env_finalize, NULL) != napi_ok) {
    napi_release_threadsafe_function(te->tsfn, napi_tsfn_abort);
    free(te);
    return NULL;
  }
  return te;
}

// Queues msg (a Buffer of netlink messages) for a worker thread; collect picks nlRequest's answer.
static napi_value submit_request(napi_env env, napi_callback_info info, int collect, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  bool is_buf = false;
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_type(env, usage);
  napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf) return throw_type(env, usage);
  transact_env_t *te = transact_env(env);
  if (!te) return throw_errno(env, ENOMEM, "nlTransact setup");
  transact_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, ENOMEM, "calloc");
  t->fd = fd;
  t->tsfn = te->tsfn;
  t->collect = collect;
  napi_value promise;
  if (napi_get_buffer_info(env, argv[1], &t->data, &t->len) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &t->buf_ref) != napi_ok) {
    free(t);
    return NULL;
  }
  if (napi_create_promise(env, &t->deferred, &promise) != napi_ok) {
    napi_delete_reference(env, t->buf_ref);
    free(t);
    return NULL;
  }
  int err = transact_submit(t);
  if (err != 0) {
    napi_delete_reference(env, t->buf_ref);
    napi_reject_deferred(env, t->deferred, errno_error(env, err, "pthread_create"));
    free(t);
    return promise;
  }
  if (te->pending++ == 0) napi_ref_threadsafe_function(env, te->tsfn);
  return promise;
}

static napi_value NlTransact(napi_env env, napi_callback_info info) {
  return submit_request(env, info, 0, "nlTransact(fd, msg): fd must be a number and msg a Buffer");
}

static napi_value NlRequest(napi_env env, napi_callback_info info) {
  return submit_request(env, info, 1, "nlRequest(fd, msgs): fd must be a number and msgs a Buffer");
}

static napi_value TxChecksumAsync(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  char name[IFNAMSIZ + 1];
  bool on = false;
  if (argc < 3 || !get_int(env, argv[0], &fd) || !get_str(env, argv[1], name, sizeof name) ||
      napi_get_value_bool(env, argv[2], &on) != napi_ok)
    return throw_type(env, "txChecksumAsync(sock, ifname, on): bad arguments");
  transact_env_t *te = transact_env(env);
  if (!te) return throw_errno(env, ENOMEM, "txChecksumAsync setup");
  transact_t *t = calloc(1, sizeof *t);
  if (!t) return throw_errno(env, ENOMEM, "calloc");
  t->fd = fd;
  t->tsfn = te->tsfn;
  t->ethtool = 1;
  t->on = on ? 1 : 0;
  memcpy(t->ifname, name, sizeof name);
  napi_value promise;
  if (napi_create_promise(env, &t->deferred, &promise) != napi_ok) {
    free(t);
    return NULL;
  }
  int err = transact_submit(t);
  if (err != 0) {
    napi_reject_deferred(env, t->deferred, errno_error(env, err, "pthread_create"));
    free(t);
    return promise;
  }
  if (te->pending++ == 0) napi_ref_threadsafe_function(env, te->tsfn);
  return promise;
}

// ---- txChecksum(sock, ifname[, on]) ------------------------------------------------------------------------
// on: -1 reads only. 0 and *state, or an errno with *fail naming the call.
static int txcsum(int fd, const char *name, int on, bool *state, const char **fail) {
  struct ethtool_value ev = {0};
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));  // callers guarantee strlen(name) < IFNAMSIZ
  ifr.ifr_data = (void *)&ev;
  if (on >= 0) {
    ev.cmd = ETHTOOL_STXCSUM;
    ev.data = on ? 1 : 0;
    if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) {
      *fail = "ioctl(SIOCETHTOOL, ETHTOOL_STXCSUM)";
      return errno;
    }
  }
  ev.cmd = ETHTOOL_GTXCSUM;
  ev.data = 0;
  if (ioctl(fd, SIOCETHTOOL, &ifr) != 0) {
    *fail = "ioctl(SIOCETHTOOL, ETHTOOL_GTXCSUM)";
    return errno;
  }
  *state = ev.data != 0;
  return 0;
}

static napi_value TxChecksum(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  char name[IFNAMSIZ + 1];
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_str(env, argv[1], name, sizeof name))
    return throw_type(env, "txChecksum(sock, ifname[, on]): bad arguments");
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  int on = -1;
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, argv[2], &b);
    on = b ? 1 : 0;
  }
  bool state = false;
  const char *fail = NULL;
  int err = txcsum(fd, name, on, &state, &fail);
  if (err) return throw_errno(env, err, fail);
  napi_value r;
  napi_get_boolean(env, state, &r);
  return r;
}

// ---- named namespaces (iproute2 ip/ipnetns.c) --------------------------------------------------------------
// /run/netns is made a shared mount point (bind-mounted onto itself first if it is not a mount point yet), so
// namespace mounts propagate to other mount namespaces, as `ip netns add` does.
static int prepare_dir(const char *dir, const char **fail) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    *fail = "mkdir";
    return errno;
  }
  for (int made = 0;; made = 1) {
    if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
    if (errno != EINVAL || made) {
      *fail = "mount(MS_SHARED)";
      return errno;
    }
    if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0) {
      *fail = "mount(MS_BIND) of the netns directory";
      return errno;
    }
  }
}

typedef struct {
  const char *path;
  int err;
  const char *fail;
} netns_add_t;

// Runs on a thread of its own: unshare(CLONE_NEWNET) moves only this thread into a fresh namespace, which is
// then pinned by bind-mounting /proc/self/task/TID/ns/net onto the target file. The thread then exits; the
// process's other threads never leave their namespace.
static void *netns_add_thread(void *p) {
  netns_add_t *a = p;
  if (unshare(CLONE_NEWNET) != 0) {
    a->err = errno;
    a->fail = "unshare(CLONE_NEWNET)";
    return NULL;
  }
  char src[64];
  snprintf(src, sizeof src, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
  if (mount(src, a->path, "none", MS_BIND, NULL) != 0) {
    a->err = errno;
    a->fail = "mount(MS_BIND)";
  }
  return NULL;
}

static napi_value NetnsAdd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char dir[256], name[256], path[520];
  if (argc < 2 || !get_str(env, argv[0], dir, sizeof dir) || !get_str(env, argv[1], name, sizeof name))
    return throw_type(env, "netnsAdd(dir, name): bad arguments");
  snprintf(path, sizeof path, "%s/%s", dir, name);
  const char *fail = NULL;
  int err = prepare_dir(dir, &fail);
  if (err) return throw_errno(env, err, fail);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "open(O_CREAT|O_EXCL) of the netns file");
  close(fd);
  netns_add_t a = {.path = path, .err = 0, .fail = NULL};
  pthread_t th;
  int perr = pthread_create(&th, NULL, netns_add_thread, &a);
  if (perr != 0) {
    a.err = perr;
    a.fail = "pthread_create";
  } else {
    pthread_join(th, NULL);
  }
  if (a.err) {
    unlink(path);
    return throw_errno(env, a.err, a.fail);
  }
  return undefined(env);
}

static napi_value NetnsDelete(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char dir[256], name[256], path[520];
  if (argc < 2 || !get_str(env, argv[0], dir, sizeof dir) || !get_str(env, argv[1], name, sizeof name))
    return throw_type(env, "netnsDelete(dir, name): bad arguments");
  snprintf(path, sizeof path, "%s/%s", dir, name);
  // Lazy unmount (MNT_DETACH): the namespace lives on while processes or open fds still hold it.
  if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL) return throw_errno(env, errno, "umount2");
  if (unlink(path) != 0) return throw_errno(env, errno, "unlink");
  return undefined(env);
}

// ---- packet sockets (DHCP on behalf of an endpoint's MAC) --------------------------------------------------
// Incoming ARP, or IPv4 UDP to port 68 that is not a fragment (tcpdump -dd 'arp or (udp dst port 68)', by
// hand). Offsets count from the Ethernet header (SOCK_RAW); jumps are relative to the next instruction.
static struct sock_filter dhcp_filter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                 // 0: ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 8, 0),   // 1: ARP -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),    // 2: not IPv4 -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),                 // 3: IP protocol
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 6),          // 4: not UDP -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),                 // 5: flags + fragment offset
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),     // 6: a later fragment -> drop
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),                // 7: X = IP header length
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),                 // 8: UDP destination port
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),          // 9: not 68 -> drop
    BPF_STMT(BPF_RET | BPF_K, 0xffff),                      // 10: accept
    BPF_STMT(BPF_RET | BPF_K, 0),                           // 11: drop
};

static napi_value PacketSocket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ + 1];
  if (argc < 1 || !get_str(env, argv[0], name, sizeof name)) return throw_type(env, "packetSocket(ifname): bad ifname");
  unsigned ifindex = if_nametoindex(name);
  if (ifindex == 0) return throw_errno(env, errno, "if_nametoindex");
  // Protocol 0 receives nothing until bind(), so no frame of another interface slips in before the filter.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET)");
  struct sock_fprog prog = {.len = sizeof dhcp_filter / sizeof dhcp_filter[0], .filter = dhcp_filter};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt(SO_ATTACH_FILTER)");
  }
  struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind(AF_PACKET)");
  }
  return make_int(env, fd);
}

static napi_value PacketSend(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  bool is_buf = false;
  if (argc < 2 || !get_int(env, argv[0], &fd)) return throw_type(env, "packetSend(fd, frame): fd must be a number");
  napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf) return throw_type(env, "packetSend(fd, frame): frame must be a Buffer");
  void *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  ssize_t n;
  do n = send(fd, data, len, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "send(AF_PACKET)");
  return undefined(env);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int timeout_ms;
  unsigned char buf[2048];  // DHCP needs 576 bytes; anything longer than a 1500-byte MTU frame is cut
  ssize_t len;              // -1: timed out
  int sys_err;
  const char *sys_call;
} precv_t;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void precv_execute(napi_env env, void *p) {
  precv_t *r = p;
  long long deadline = now_ms() + r->timeout_ms;
  r->len = -1;
  for (;;) {
    long long left = deadline - now_ms();
    if (left < 0) return;
    struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) {
      r->sys_err = errno;
      r->sys_call = "poll";
      return;
    }
    if (pr == 0) return;
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(r->fd, r->buf, sizeof r->buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      r->sys_err = errno;
      r->sys_call = "recvfrom(AF_PACKET)";
      return;
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;  // our own frames, looped back to packet sockets
    r->len = n;
    return;
  }
}

static void precv_complete(napi_env env, napi_status status, void *p) {
  precv_t *r = p;
  napi_value v;
  if (r->sys_err) {
    napi_reject_deferred(env, r->deferred, errno_error(env, r->sys_err, r->sys_call));
  } else if (r->len < 0) {
    napi_get_null(env, &v);
    napi_resolve_deferred(env, r->deferred, v);
  } else {
    void *out;
    napi_create_buffer_copy(env, (size_t)r->len, r->buf, &out, &v);
    napi_resolve_deferred(env, r->deferred, v);
  }
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value PacketRecv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, ms;
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &ms) || ms < 0)
    return throw_type(env, "packetRecv(fd, timeoutMs): fd and timeoutMs must be numbers >= 0");
  precv_t *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, ENOMEM, "calloc");
  r->fd = fd;
  r->timeout_ms = ms;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &r->deferred, &promise));
  napi_create_string_utf8(env, "ocn_netlink.packetRecv", NAPI_AUTO_LENGTH, &name);
  CHECK(napi_create_async_work(env, NULL, name, precv_execute, precv_complete, r, &r->work));
  CHECK(napi_queue_async_work(env, r->work));
  return promise;
}

// ---- module ------------------------------------------------------------------------------------------------
static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"callInNetns", NULL, CallInNetns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"inetSocket", NULL, InetSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"routeSocket", NULL, RouteSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlTransact", NULL, NlTransact, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nlRequest", NULL, NlRequest, NULL, NULL, NULL, napi_enumerable, NULL},
      {"txChecksum", NULL, TxChecksum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"txChecksumAsync", NULL, TxChecksumAsync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsAdd", NULL, NetnsAdd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"netnsDelete", NULL, NetnsDelete, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetSocket", NULL, PacketSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetSend", NULL, PacketSend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"packetRecv", NULL, PacketRecv, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
