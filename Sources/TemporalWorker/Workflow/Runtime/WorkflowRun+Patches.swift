import Temporal
import TemporalProto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkflowRun {
    // MARK: - Patches

    func patched(_ id: String) -> Bool {
        if let known = patches.decision(id) { return known }
        guard mayChange("context.patched(\"\(id)\")") else { return false }
        let value = isReplaying ? patches.hasMarkerInHistory(id) : true
        patches.decide(id, value)
        if value { recordPatchMarker(id, deprecated: false) }
        return value
    }

    /// Step two of retiring a patch: the code runs only the patched path; new runs record a
    /// deprecated marker, runs that recorded the marker replay against it, and once no run
    /// without a deprecated marker is open the call can go (deprecated markers are skipped).
    func deprecatePatch(_ id: String) {
        guard patches.decision(id) == nil, mayChange("context.deprecatePatch(\"\(id)\")") else { return }
        patches.decide(id, true)
        // On replay, a history without the marker is one written after the call was removed
        // or before it was added: nothing to match.
        guard !isReplaying || patches.hasMarkerInHistory(id) else { return }
        recordPatchMarker(id, deprecated: true)
    }

    /// The ids of the patch markers among the events of the task starting at `index` (up to the
    /// next WorkflowTaskStarted), as `localActivityMarkers` reads that task's markers.
    static func patchMarkers(in events: [HistoryEvent], from index: Int) -> [String] {
        var ids: [String] = []
        var i = index
        while i < events.count, events[i].eventType != .workflowTaskStarted {
            if events[i].eventType == .markerRecorded, let id = PatchMarkerStateMachine.patchID(of: events[i]) { ids.append(id) }
            i += 1
        }
        return ids
    }

    private func recordPatchMarker(_ id: String, deprecated: Bool) {
        let machine = PatchMarkerStateMachine(patchID: id, deprecated: deprecated)
        patches[machine: id] = machine
        commands.append(PendingCommand(key: .marker(id), command: machine.command()))
    }
}
