/* lv_loop.h - the one libvirt thread of the process.
 *
 * libvirt's client library delivers events from an event loop the program
 * runs.  in_libvirt runs libvirt's own (virEventRegisterDefaultImpl) on a
 * thread of its own rather than on the forwarder's sd-event loop, because
 * every libvirt call is a blocking RPC to libvirtd: a slow or hung daemon
 * then stalls this thread (until keepalive gives up on it), never the
 * forwarder's other inputs.  Every libvirt call of the plugin happens on
 * this thread; the forwarder's thread only reads the observations it
 * queues (lv_queue.h) and asks it to do things with lv_loop_call().
 *
 * libvirt allows one event implementation per process, registered once
 * (virEventRegisterImpl's documentation), and wants it run while any
 * connection may still need it; the thread starts with the first instance
 * and stops with the last (lv_loop_release), after its connections closed.
 * The plugin is linked -z nodelete: libvirt keeps pointers into it (the
 * error function) for the life of the process. */
#ifndef HVT_LV_LOOP_H
#define HVT_LV_LOOP_H

#include <stdbool.h>
#include <stddef.h>

/* Start the thread, or count one more user of it.  0 or -1 with err set. */
int lv_loop_start(char *err, size_t errsize);
/* One user less; the last one stops the thread (its connections closed). */
void lv_loop_release(void);
void lv_loop_noop(void *arg);
/* Run fn(arg) on the libvirt thread soon.  0 or -1. */
int lv_loop_call(void (*fn)(void *arg), void *arg);
/* Run fn(arg) on the libvirt thread and wait for it to return (not from
 * the libvirt thread itself). */
int lv_loop_call_wait(void (*fn)(void *arg), void *arg);
bool lv_loop_on_thread(void);

/* libvirt's last error on this thread, in words ("" when none). */
const char *lv_last_error(void);

#endif
