//! Calls that do their I/O on the JS thread (option `eventLoopConnection`).
//!
//! Without the option, a call crosses to the core's runtime thread and its
//! result crosses back (`promise.rs`). With it, the call's future is polled
//! here, on the JS thread, and its request goes on the core's event-loop
//! connection (`stateful_redis::EventLoopConnection`), whose socket libuv
//! watches: a reply is read, its call finishes and its promise settles in the
//! same callback, with no other thread involved.
//!
//! This file is glue between libuv and the core, nothing more:
//! - a `uv_poll_t` watches the connection's socket while calls wait for
//!   replies or requests wait to be written; its callback reads the replies,
//!   polls the calls they finish and settles their promises inside a callback
//!   scope (so promise reactions run when it returns, as after any I/O);
//! - a `uv_prepare_t` runs before the loop waits for I/O: it writes the
//!   requests the calls of this turn queued (one write for all of them) and
//!   updates what the poll handle watches;
//! - a `uv_async_t` wakes the JS thread for a call woken on another thread
//!   (a timer of the runtime, or a call sent over the shared connections
//!   while the event-loop connection is re-opened).
//!
//! Neither handle keeps the process alive: a call in flight does, through the
//! thread-safe function's reference, as without the option.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::raw::{c_int, c_void};
use std::pin::Pin;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env};
use stateful_redis::{Error as CoreError, EventLoopConnection, Executor as CoreExecutor};

use crate::error::check;
use crate::promise::Completer;

/// libuv, as Node exports it to addons (`uv.h`). Resolved when the first
/// driver starts (`dlsym`), as napi-rs resolves Node-API: the addon then
/// links without Node (`cargo test`), and without the symbols the executor
/// keeps to the shared connections.
mod uv {
    use std::os::raw::{c_int, c_void};
    use std::sync::OnceLock;

    pub(super) const ASYNC: c_int = 1;
    pub(super) const POLL: c_int = 8;
    pub(super) const PREPARE: c_int = 9;
    pub(super) const READABLE: c_int = 1;
    pub(super) const WRITABLE: c_int = 2;

    pub(super) type PollCallback = unsafe extern "C" fn(*mut c_void, c_int, c_int);
    pub(super) type Callback = unsafe extern "C" fn(*mut c_void);

    /// The libuv functions the driver calls.
    pub(super) struct Uv {
        pub(super) handle_size: unsafe extern "C" fn(c_int) -> usize,
        pub(super) handle_set_data: unsafe extern "C" fn(*mut c_void, *mut c_void),
        pub(super) handle_get_data: unsafe extern "C" fn(*const c_void) -> *mut c_void,
        pub(super) unref: unsafe extern "C" fn(*mut c_void),
        pub(super) close: unsafe extern "C" fn(*mut c_void, Option<Callback>),
        pub(super) poll_init_socket: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int,
        pub(super) poll_start: unsafe extern "C" fn(*mut c_void, c_int, PollCallback) -> c_int,
        pub(super) poll_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
        pub(super) async_init: unsafe extern "C" fn(*mut c_void, *mut c_void, Callback) -> c_int,
        pub(super) async_send: unsafe extern "C" fn(*mut c_void) -> c_int,
        pub(super) prepare_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
        pub(super) prepare_start: unsafe extern "C" fn(*mut c_void, Callback) -> c_int,
        pub(super) prepare_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    }

    /// The functions, or `None` if the process has no libuv.
    pub(super) fn get() -> Option<&'static Uv> {
        static UV: OnceLock<Option<Uv>> = OnceLock::new();
        UV.get_or_init(|| unsafe { resolve() }).as_ref()
    }

    /// The one already resolved (a driver exists, so `get` succeeded).
    pub(super) fn uv() -> &'static Uv {
        get().expect("libuv was resolved when the driver started")
    }

    unsafe fn resolve() -> Option<Uv> {
        /// The function named `name` (a C string), typed as the field it fills.
        unsafe fn symbol<F: Copy>(name: &str) -> Option<F> {
            let address = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr().cast());
            (!address.is_null()).then(|| {
                assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
                std::mem::transmute_copy::<*mut c_void, F>(&address)
            })
        }
        macro_rules! symbol {
            ($name:literal) => {
                symbol(concat!($name, "\0"))?
            };
        }
        Some(Uv {
            handle_size: symbol!("uv_handle_size"),
            handle_set_data: symbol!("uv_handle_set_data"),
            handle_get_data: symbol!("uv_handle_get_data"),
            unref: symbol!("uv_unref"),
            close: symbol!("uv_close"),
            poll_init_socket: symbol!("uv_poll_init_socket"),
            poll_start: symbol!("uv_poll_start"),
            poll_stop: symbol!("uv_poll_stop"),
            async_init: symbol!("uv_async_init"),
            async_send: symbol!("uv_async_send"),
            prepare_init: symbol!("uv_prepare_init"),
            prepare_start: symbol!("uv_prepare_start"),
            prepare_stop: symbol!("uv_prepare_stop"),
        })
    }
}

/// Passes over the woken calls in one callback (see `LoopDriver::run_ready`).
const READY_PASSES: usize = 16;

/// A call whose future is polled on the JS thread.
struct Task {
    future: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    /// Already in the ready queue.
    queued: AtomicBool,
    ready: Arc<ReadyQueue>,
}

/// Calls woken and not polled yet. Shared with wakers on any thread.
struct ReadyQueue {
    tasks: Mutex<Vec<Arc<Task>>>,
    js_thread: ThreadId,
    /// The `uv_async_t` that wakes the JS thread; null once it is closed
    /// (held locked while it is used, so it cannot be closed meanwhile).
    wake: Mutex<Handle>,
}

struct Handle(*mut c_void);
// SAFETY: `uv_async_send` is documented as callable from any thread; the
// pointer is only sent on, under the lock, while the handle is open.
unsafe impl Send for Handle {}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let ready = &self.ready;
        ready
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(self.clone());
        if std::thread::current().id() != ready.js_thread {
            let wake = ready.wake.lock().unwrap_or_else(|p| p.into_inner());
            if !wake.0.is_null() {
                unsafe { (uv::uv().async_send)(wake.0) };
            }
        }
    }
}

/// One executor's event-loop driver, on the JS thread.
pub(crate) struct LoopDriver {
    env: sys::napi_env,
    /// The core's handle whose calls use the event-loop connection.
    executor: CoreExecutor,
    connection: Arc<EventLoopConnection>,
    completer: Arc<Completer>,
    ready: Arc<ReadyQueue>,
    uv_loop: *mut c_void,
    prepare: *mut c_void,
    /// The poll handle of the socket watched now (null: none), its
    /// generation and the events it watches.
    poll: Cell<*mut c_void>,
    watched_generation: Cell<u64>,
    watched_events: Cell<c_int>,
    /// Calls not finished yet; the driver is torn down once it is closing
    /// and none is left.
    running: Cell<usize>,
    closing: Cell<bool>,
    torn_down: Cell<bool>,
    async_context: sys::napi_async_context,
    resource: sys::napi_ref,
}

impl LoopDriver {
    /// Starts a driver on the JS thread of `env`.
    pub(crate) fn start(
        env: &Env,
        executor: CoreExecutor,
        connection: Arc<EventLoopConnection>,
        completer: Arc<Completer>,
    ) -> napi::Result<Rc<LoopDriver>> {
        let raw = env.raw();
        let mut uv_loop = ptr::null_mut();
        let mut resource = ptr::null_mut();
        let mut resource_ref = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut async_context = ptr::null_mut();
        let label = "stateful-redis";
        unsafe {
            check(sys::napi_get_uv_event_loop(raw, &mut uv_loop))?;
            check(sys::napi_create_object(raw, &mut resource))?;
            check(sys::napi_create_reference(
                raw,
                resource,
                1,
                &mut resource_ref,
            ))?;
            check(sys::napi_create_string_utf8(
                raw,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ))?;
            check(sys::napi_async_init(
                raw,
                resource,
                name,
                &mut async_context,
            ))?;
        }
        let prepare = allocate(uv::PREPARE);
        let wake = allocate(uv::ASYNC);
        let driver = Rc::new(LoopDriver {
            env: raw,
            executor,
            connection,
            ready: Arc::new(ReadyQueue {
                tasks: Mutex::new(Vec::new()),
                js_thread: std::thread::current().id(),
                wake: Mutex::new(Handle(wake)),
            }),
            completer,
            uv_loop: uv_loop.cast(),
            prepare,
            poll: Cell::new(ptr::null_mut()),
            watched_generation: Cell::new(u64::MAX),
            watched_events: Cell::new(0),
            running: Cell::new(0),
            closing: Cell::new(false),
            torn_down: Cell::new(false),
            async_context,
            resource: resource_ref,
        });
        unsafe {
            (uv::uv().prepare_init)(driver.uv_loop, prepare);
            // The prepare handle owns one reference to the driver, given
            // back when it is closed (`teardown`).
            (uv::uv().handle_set_data)(prepare, Rc::into_raw(driver.clone()) as *mut c_void);
            (uv::uv().prepare_start)(prepare, on_prepare);
            (uv::uv().unref)(prepare);
            (uv::uv().async_init)(driver.uv_loop, wake, on_wake);
            (uv::uv().handle_set_data)(wake, Rc::as_ptr(&driver) as *mut c_void);
            (uv::uv().unref)(wake);
            // A worker thread may end with calls in flight: its loop goes
            // away with it, and so must the handles.
            sys::napi_add_env_cleanup_hook(
                raw,
                Some(on_env_cleanup),
                Rc::as_ptr(&driver) as *mut c_void,
            );
        }
        Ok(driver)
    }

    /// The handle whose calls use the event-loop connection.
    pub(crate) fn executor(&self) -> &CoreExecutor {
        &self.executor
    }

    /// Runs `call` on the JS thread; the promise settles with its result.
    pub(crate) fn spawn<'env, T, F>(
        &self,
        env: &'env Env,
        call: F,
    ) -> napi::Result<PromiseRaw<'env, T>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T, CoreError>> + Send + 'static,
    {
        let (promise, call) = self.completer.local_call(env, call)?;
        let task = Arc::new(Task {
            future: Mutex::new(Some(call)),
            queued: AtomicBool::new(false),
            ready: self.ready.clone(),
        });
        self.running.set(self.running.get() + 1);
        // Its first poll writes the request to the buffer `on_prepare` flushes.
        self.poll_task(&task);
        self.completer.settle_local(env.raw());
        Ok(promise)
    }

    /// Polls one call (with the core's runtime entered: its timers are the
    /// runtime's).
    fn poll_task(&self, task: &Arc<Task>) {
        task.queued.store(false, Ordering::Release);
        let mut slot = task.future.lock().unwrap_or_else(|p| p.into_inner());
        let Some(future) = slot.as_mut() else {
            return;
        };
        let waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&waker);
        let done = {
            let _runtime = stateful_redis::runtime::shared().map(|rt| rt.handle().enter());
            // A panic ends only this call: its guard reports INTERNAL.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                future.as_mut().poll(&mut cx)
            }))
            .unwrap_or(Poll::Ready(()))
            .is_ready()
        };
        if done {
            *slot = None;
            drop(slot);
            self.running.set(self.running.get() - 1);
        }
    }

    /// Polls every call woken since the last time.
    /// Calls woken while polling are polled in the same callback, up to
    /// [`READY_PASSES`] passes; the rest on the next turn (through the async
    /// handle), so that a call that keeps waking itself cannot hold the loop.
    fn run_ready(&self) {
        for _ in 0..READY_PASSES {
            let ready =
                std::mem::take(&mut *self.ready.tasks.lock().unwrap_or_else(|p| p.into_inner()));
            if ready.is_empty() {
                return;
            }
            for task in ready {
                self.poll_task(&task);
            }
        }
        let wake = self.ready.wake.lock().unwrap_or_else(|p| p.into_inner());
        if !wake.0.is_null() {
            unsafe { (uv::uv().async_send)(wake.0) };
        }
    }

    /// Runs woken calls and settles their promises inside a callback scope
    /// (their reactions run when it closes), then tears down if due.
    fn settle_in_scope(&self, before: impl FnOnce()) {
        let env = self.env;
        unsafe {
            let mut handles = ptr::null_mut();
            sys::napi_open_handle_scope(env, &mut handles);
            let mut resource = ptr::null_mut();
            sys::napi_get_reference_value(env, self.resource, &mut resource);
            let mut scope = ptr::null_mut();
            let opened =
                sys::napi_open_callback_scope(env, resource, self.async_context, &mut scope)
                    == sys::Status::napi_ok;
            before();
            self.run_ready();
            self.completer.settle_local(env);
            if opened {
                sys::napi_close_callback_scope(env, scope);
            }
            sys::napi_close_handle_scope(env, handles);
        }
    }

    /// Writes the queued requests and watches the socket as needed.
    fn flush_and_watch(&self) {
        if self.torn_down.get() {
            return;
        }
        self.connection.flush();
        let ready = self.connection.readiness();
        if ready.generation != self.watched_generation.get() {
            // A new socket (or none): stop watching the old one before the
            // core closes it.
            self.stop_watching();
            self.connection.release_retired();
            self.watched_generation.set(ready.generation);
            if let Some(fd) = ready.fd {
                let poll = allocate(uv::POLL);
                unsafe {
                    if (uv::uv().poll_init_socket)(self.uv_loop, poll, fd) == 0 {
                        (uv::uv().handle_set_data)(poll, self as *const LoopDriver as *mut c_void);
                        (uv::uv().unref)(poll);
                        self.poll.set(poll);
                    } else {
                        free(poll);
                    }
                }
            }
        }
        let mut events = 0;
        if ready.readable {
            events |= uv::READABLE;
        }
        if ready.writable {
            events |= uv::WRITABLE;
        }
        let poll = self.poll.get();
        if poll.is_null() || events == self.watched_events.get() {
            return;
        }
        unsafe {
            if events == 0 {
                (uv::uv().poll_stop)(poll);
            } else {
                (uv::uv().poll_start)(poll, events, on_poll);
            }
        }
        self.watched_events.set(events);
    }

    fn stop_watching(&self) {
        let poll = self.poll.replace(ptr::null_mut());
        if !poll.is_null() {
            unsafe {
                (uv::uv().poll_stop)(poll);
                (uv::uv().close)(poll, Some(on_closed));
            }
        }
        self.watched_events.set(0);
    }

    /// No more calls will come (the executor was closed or collected): the
    /// driver ends once its calls have finished.
    pub(crate) fn close(&self) {
        self.closing.set(true);
        self.teardown_if_done();
    }

    fn teardown_if_done(&self) {
        if self.torn_down.get() || !self.closing.get() || self.running.get() > 0 {
            return;
        }
        unsafe {
            sys::napi_remove_env_cleanup_hook(
                self.env,
                Some(on_env_cleanup),
                self as *const LoopDriver as *mut c_void,
            );
        }
        self.teardown();
    }

    /// Closes the handles and the connection. Calls still in flight (only
    /// when the environment ends) never settle: their promises go with it.
    fn teardown(&self) {
        if self.torn_down.replace(true) {
            return;
        }
        self.stop_watching();
        self.connection.shut_down();
        self.connection.release_retired();
        let wake = std::mem::replace(
            &mut *self.ready.wake.lock().unwrap_or_else(|p| p.into_inner()),
            Handle(ptr::null_mut()),
        );
        unsafe {
            (uv::uv().close)(wake.0, Some(on_closed));
            sys::napi_async_destroy(self.env, self.async_context);
            sys::napi_delete_reference(self.env, self.resource);
            (uv::uv().prepare_stop)(self.prepare);
            // Gives back the prepare handle's reference to the driver.
            (uv::uv().close)(self.prepare, Some(on_prepare_closed));
        }
    }
}

/// Finds the driver of a handle.
unsafe fn driver<'a>(handle: *mut c_void) -> Option<&'a LoopDriver> {
    let data = (uv::uv().handle_get_data)(handle) as *const LoopDriver;
    data.as_ref()
}

unsafe extern "C" fn on_prepare(handle: *mut c_void) {
    if let Some(driver) = driver(handle) {
        if !driver
            .ready
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            driver.settle_in_scope(|| {});
        }
        driver.flush_and_watch();
        driver.teardown_if_done();
    }
}

/// The environment ends (a worker thread terminated, or the process exits).
unsafe extern "C" fn on_env_cleanup(data: *mut c_void) {
    if let Some(driver) = (data as *const LoopDriver).as_ref() {
        driver.closing.set(true);
        driver.teardown();
    }
}

/// A call was woken on another thread.
unsafe extern "C" fn on_wake(handle: *mut c_void) {
    if let Some(driver) = driver(handle) {
        driver.settle_in_scope(|| {});
        driver.flush_and_watch();
        driver.teardown_if_done();
    }
}

unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, events: c_int) {
    let Some(driver) = driver(handle) else {
        return;
    };
    driver.settle_in_scope(|| {
        if status < 0 || events & uv::READABLE != 0 {
            // An error shows as a failed read.
            driver.connection.on_readable();
        }
        if events & uv::WRITABLE != 0 {
            driver.connection.flush();
        }
    });
    driver.flush_and_watch();
    driver.teardown_if_done();
}

unsafe extern "C" fn on_prepare_closed(handle: *mut c_void) {
    let data = (uv::uv().handle_get_data)(handle) as *const LoopDriver;
    free(handle);
    if !data.is_null() {
        drop(Rc::from_raw(data));
    }
}

unsafe extern "C" fn on_closed(handle: *mut c_void) {
    free(handle);
}

fn allocate(kind: c_int) -> *mut c_void {
    // SAFETY: zeroed memory of the size libuv gives for the handle type.
    let handle = unsafe { libc::calloc(1, (uv::uv().handle_size)(kind)) };
    assert!(!handle.is_null(), "out of memory");
    handle
}

unsafe fn free(handle: *mut c_void) {
    libc::free(handle);
}

/// The driver slot of an executor: filled on the JS thread at its first call.
#[derive(Default)]
pub(crate) struct LoopSlot(RefCell<Option<Rc<LoopDriver>>>);

// SAFETY: the slot is empty when the executor crosses threads (it is made on
// the runtime, in `connect`); it is filled and used on the JS thread only.
unsafe impl Send for LoopSlot {}

impl LoopSlot {
    /// The driver, started on first use when the executor has the
    /// event-loop connection.
    pub(crate) fn get(
        &self,
        env: &Env,
        executor: &CoreExecutor,
        completer: &Arc<Completer>,
    ) -> napi::Result<Option<Rc<LoopDriver>>> {
        if let Some(driver) = self.0.borrow().as_ref() {
            return Ok(Some(driver.clone()));
        }
        if uv::get().is_none() {
            return Ok(None);
        }
        let Some((handle, connection)) = executor.on_event_loop() else {
            return Ok(None);
        };
        let driver = LoopDriver::start(env, handle, connection, completer.clone())?;
        *self.0.borrow_mut() = Some(driver.clone());
        Ok(Some(driver))
    }

    pub(crate) fn close(&self) {
        if let Some(driver) = self.0.borrow_mut().take() {
            driver.close();
        }
    }
}

impl Drop for LoopSlot {
    fn drop(&mut self) {
        self.close();
    }
}
