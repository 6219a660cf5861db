import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Delivers SIGINT and SIGTERM to Swift code reliably, whatever the threads' signal masks.
///
/// A C signal handler (installed with `sigaction`) writes the signal number to a pipe — the
/// only thing it does, which is async-signal-safe — and one dedicated thread reads the pipe
/// and calls every registered listener. (libdispatch signal sources on Linux rely on
/// `signalfd`, which only sees a signal when every thread blocks it; with gRPC's and the Swift
/// runtime's threads already running, a SIGTERM was sometimes taken by another thread and
/// dropped, so the worker never shut down.)
enum TerminationSignals {
    private struct Registry {
        var installed = false
        var nextID = 0
        var listeners: [Int: @Sendable (Int32) -> Void] = [:]
        /// The last signal no listener heard, and when (see `readLoop`).
        var unheard: (number: Int32, at: ContinuousClock.Instant)?
    }

    private static let registry = Mutex(Registry())

    /// `SIGINT`, `SIGTERM` or `signal N`, for log lines.
    static func name(_ number: Int32) -> String {
        number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "signal \(number)"
    }

    /// Registers `listener` for SIGINT and SIGTERM (installing the handler on first use) and
    /// returns a token for `remove(_:)`.
    /// A signal no listener heard in the last `unheardWindow` (a worker between its start-up
    /// and its serving) goes to it at once: it was lost, and Kubernetes killed the worker
    /// undrained after its grace period.
    static func add(_ listener: @escaping @Sendable (Int32) -> Void) -> Int {
        let (token, pending) = registry.withLock { r -> (Int, Int32?) in
            if !r.installed { r.installed = install() }
            r.nextID += 1
            r.listeners[r.nextID] = listener
            defer { r.unheard = nil }
            return (r.nextID, r.unheard.flatMap { ContinuousClock.now - $0.at < unheardWindow ? $0.number : nil })
        }
        if let pending { listener(pending) }
        return token
    }

    /// How long a signal no listener heard counts (for the next listener, and for a second one).
    static let unheardWindow: Duration = .seconds(10)

    /// Unregisters a listener. The handler stays installed, so a late signal never falls back
    /// to the default action mid-shutdown: one that no listener hears is said on standard error
    /// (and goes to a listener registered within `unheardWindow`), and a second one within that
    /// window ends the process at once, by the signal's default action, as a second Ctrl-C does
    /// elsewhere (a final trace flush held it up to 10 s).
    static func remove(_ token: Int) {
        _ = registry.withLock { $0.listeners.removeValue(forKey: token) }
    }

    /// The reader thread's body: forwards each signal number read from the pipe to the listeners.
    private static func readLoop(fd readFD: Int32) {
        var byte: UInt8 = 0
        while true {
            let n = read(readFD, &byte, 1)
            if n == 1 {
                let number = Int32(byte)
                let (listeners, again) = registry.withLock { r -> ([@Sendable (Int32) -> Void], Bool) in
                    guard r.listeners.isEmpty else {
                        r.unheard = nil
                        return (Array(r.listeners.values), false)
                    }
                    let again = r.unheard.map { ContinuousClock.now - $0.at < unheardWindow } ?? false
                    r.unheard = (number, ContinuousClock.now)
                    return ([], again)
                }
                for listener in listeners { listener(number) }
                if again {
                    // The default action, so that a shell sees death by the signal (a loop of
                    // starters stops too); exit with 128 + it where that action is to ignore (PID 1).
                    signal(number, SIG_DFL)
                    var set = sigset_t()
                    sigemptyset(&set)
                    sigaddset(&set, number)
                    pthread_sigmask(SIG_UNBLOCK, &set, nil)  // this thread may block it
                    raise(number)
                    _exit(128 + number)
                } else if listeners.isEmpty {
                    let message = "\(name(number)) received while nothing listens (starting or finishing); send it again to stop at once\n"
                    _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
                }
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                // Cannot happen while the process holds the write end; say so rather than
                // silently ignoring every later SIGTERM.
                let message = "temporal.worker.signals: signal pipe closed (errno \(errno)); SIGINT/SIGTERM now take their default action\n"
                _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
                for number in [SIGINT, SIGTERM] { signal(number, SIG_DFL) }
                return
            }
        }
    }

    /// Creates the pipe, starts the reader and installs the handler; false (to retry on the
    /// next registration) when the pipe cannot be created.
    private static func install() -> Bool {
        var fds: [Int32] = [-1, -1]
        // (Glibc's module does not export pipe2; the CLOEXEC window only matters to a
        // concurrent fork+exec during the first registration.)
        guard pipe(&fds) == 0 else { return false }
        // The reader blocks; the handler's end is non-blocking (a full pipe drops the byte).
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        terminationSignalWriteFD.pointee = fds[1]
        let readFD = fds[0]
        // A plain pthread (not Foundation's `Thread`, so the worker needs only FoundationEssentials).
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        var thread = pthread_t()
        let argument = UnsafeMutableRawPointer(bitPattern: Int(readFD) + 1)
        _ = pthread_create(
            &thread, &attributes,
            { argument in
                TerminationSignals.readLoop(fd: Int32(Int(bitPattern: argument) - 1))
                return nil
            }, argument)
        pthread_attr_destroy(&attributes)
        for number in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = terminationSignalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
            // Unblock in this thread in case the process started with them blocked.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, number)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
        return true
    }
}

/// The pipe the handler writes to, set once before the handler is installed. Held through a
/// pointer so the handler's read involves no Swift runtime access checks.
nonisolated(unsafe) private let terminationSignalWriteFD: UnsafeMutablePointer<Int32> = {
    let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    pointer.initialize(to: -1)
    return pointer
}()

/// The signal handler: one `write(2)` (errno preserved), nothing else.
private let terminationSignalHandler: @convention(c) (Int32) -> Void = { number in
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(terminationSignalWriteFD.pointee, &byte, 1)
    errno = saved
}
