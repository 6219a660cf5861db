extension StagingStore {
    /// Stores `checkpoint` as the resume point of its batch (replacing the previous one).
    public func saveCheckpoint(_ checkpoint: ExtractionCheckpoint) async throws(ETLError) {
        try await saveCheckpointState(checkpoint.json.serialized(), batchId: checkpoint.batchId)
    }

    /// The last checkpoint saved for `batchId`, if any.
    /// - Throws: `ETLError` of kind `.database` when what is stored is not a checkpoint.
    public func loadCheckpoint(batchId: String) async throws(ETLError) -> ExtractionCheckpoint? {
        guard let text = try await loadCheckpointState(batchId: batchId) else { return nil }
        return try ExtractionCheckpoint(storedText: text, batchId: batchId)
    }
}
