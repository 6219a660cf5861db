#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Temporal
import TemporalProto

extension WorkflowRun {
    // MARK: - Patches

    func patched(_ id: String) -> Bool {
        if let known = patches[id] { return known }
        let value = isReplaying ? knownPatches.contains(id) : true
        patches[id] = value
        if value {
            let machine = PatchMarkerStateMachine(patchID: id)
            patchMachines[id] = machine
            commands.append(PendingCommand(key: .marker(id), command: machine.command()))
        }
        return value
    }
}
