/// What a run knows of its patches (`WorkflowContext.patched`, `deprecatePatch`): the ids whose
/// markers the history holds up to the task being replayed, the decision taken for each id the
/// code asked about, and the marker machines of the markers it recorded. A decision is fixed for
/// the rest of the run, except a `false` taken while replaying, which the task that records the
/// id's marker revises (as Go does): a build that asks earlier than the build that recorded the
/// run did gets the old path there and the new one from the marker's task on. Only ever touched
/// under the run's confinement.
struct PatchTable {
    private var decisions: [String: Bool] = [:]
    private var machines: [String: PatchMarkerStateMachine] = [:]
    private var inHistory: Set<String> = []

    /// The decision taken for `id`, if the code asked before.
    func decision(_ id: String) -> Bool? { decisions[id] }

    mutating func decide(_ id: String, _ value: Bool) { decisions[id] = value }

    /// The task being replayed records a marker for `id`: a `false` decided earlier in the
    /// replay no longer holds.
    mutating func noteMarkerInHistory(_ id: String) {
        inHistory.insert(id)
        if decisions[id] == false, machines[id] == nil { decisions[id] = nil }
    }

    /// Whether the history up to the task being replayed has a marker for `id`.
    func hasMarkerInHistory(_ id: String) -> Bool { inHistory.contains(id) }

    /// The marker machine of `id`, once the run recorded its marker command.
    subscript(machine id: String) -> PatchMarkerStateMachine? {
        get { machines[id] }
        set { machines[id] = newValue }
    }
}
