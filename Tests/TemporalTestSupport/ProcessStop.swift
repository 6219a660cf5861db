import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// Sends SIGTERM, waits up to `grace` for the process to exit, then sends SIGKILL.
    /// (Foundation's `waitUntilExit` can block forever on Linux when called off the main
    /// thread while other processes are being reaped, so this polls `isRunning` instead.)
    func stop(grace: Duration = .seconds(10)) {
        guard isRunning else { return }
        terminate()
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if isRunning {
            kill(processIdentifier, SIGKILL)
            let hard = ContinuousClock.now + .seconds(5)
            while isRunning, ContinuousClock.now < hard { usleep(20_000) }
        }
    }
}
