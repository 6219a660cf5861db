import Synchronization

/// Shared shutdown state: polling stops (`stopping`); workflow tasks still running local
/// activities when the grace period is over are given up (`workflowTasksGivenUp`); then the
/// hard stop cancels the activities still running (each attempt watches `hardStopped`).
struct ShutdownSignal: Sendable {
    let stopping = OneShotEvent()
    let workflowTasksGivenUp = OneShotEvent()
    let hardStopped = OneShotEvent()

    var isStopping: Bool { stopping.happened }
    var isHardStopped: Bool { hardStopped.happened }
    /// Whether a workflow task running local activities must give up now.
    var mustGiveUpWorkflowTasks: Bool { workflowTasksGivenUp.happened || hardStopped.happened }

    func stop() { stopping.fire() }

    func giveUpWorkflowTasks() {
        stopping.fire()
        workflowTasksGivenUp.fire()
    }

    func hardStop() {
        stopping.fire()
        workflowTasksGivenUp.fire()
        hardStopped.fire()
    }
}
