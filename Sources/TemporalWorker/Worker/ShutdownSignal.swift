import Synchronization

/// Shared shutdown state: polling stops (`stopping`), then, when the grace period is over,
/// the hard stop cancels the activities still running (each attempt watches `hardStopped`).
struct ShutdownSignal: Sendable {
    let stopping = OneShotEvent()
    let hardStopped = OneShotEvent()

    var isStopping: Bool { stopping.happened }
    var isHardStopped: Bool { hardStopped.happened }

    func stop() { stopping.fire() }

    func hardStop() {
        stopping.fire()
        hardStopped.fire()
    }
}
