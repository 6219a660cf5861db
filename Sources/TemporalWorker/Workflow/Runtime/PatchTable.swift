/// What a run knows of its patches (`WorkflowContext.patched`, `deprecatePatch`): the ids its
/// history has markers for, the decision taken for each id the code asked about (fixed for the
/// rest of the run), and the marker machines of the markers it recorded. Only ever touched
/// under the run's confinement.
struct PatchTable {
    private var decisions: [String: Bool] = [:]
    private var machines: [String: PatchMarkerStateMachine] = [:]
    private var inHistory: Set<String> = []

    /// The decision taken for `id`, if the code asked before.
    func decision(_ id: String) -> Bool? { decisions[id] }

    mutating func decide(_ id: String, _ value: Bool) { decisions[id] = value }

    /// A marker for `id` is in the history being processed.
    mutating func noteMarkerInHistory(_ id: String) { inHistory.insert(id) }

    /// Whether the history has a marker for `id`.
    func hasMarkerInHistory(_ id: String) -> Bool { inHistory.contains(id) }

    /// The marker machine of `id`, once the run recorded its marker command.
    subscript(machine id: String) -> PatchMarkerStateMachine? {
        get { machines[id] }
        set { machines[id] = newValue }
    }
}
