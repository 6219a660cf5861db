extension StagingStore {
    /// Stores `checkpoint` as the resume point of its batch (replacing the previous one).
    public func saveCheckpoint(_ checkpoint: ExtractionCheckpoint) async throws(ETLError) {
        try await saveCheckpointState(checkpoint.json.serialized(), batchId: checkpoint.batchId)
    }

    /// Stores `checkpoint` as the resume point of its batch only while the stored one belongs to
    /// the same start of the batch (`generation`); see `replaceCheckpointState`.
    public func replaceCheckpoint(_ checkpoint: ExtractionCheckpoint, generation: String?) async throws(ETLError) {
        try await replaceCheckpointState(checkpoint.json.serialized(), batchId: checkpoint.batchId, generation: generation)
    }

    /// Throws `.stagingMismatch` unless the checkpoint stored for `batchId` now belongs to start
    /// `generation` of the batch (nothing stored counts as another start: the batch was cleared).
    public func requireGeneration(_ generation: String?, batchId: String) async throws(ETLError) {
        try ExtractionCheckpoint.requireGeneration(generation, stored: try await loadCheckpointState(batchId: batchId), batchId: batchId)
    }

    /// The last checkpoint saved for `batchId`, if any.
    /// - Throws: `ETLError` of kind `.database` when what is stored is not a checkpoint.
    public func loadCheckpoint(batchId: String) async throws(ETLError) -> ExtractionCheckpoint? {
        guard let text = try await loadCheckpointState(batchId: batchId) else { return nil }
        return try ExtractionCheckpoint(storedText: text, batchId: batchId)
    }
}

extension ExtractionCheckpoint {
    /// Throws `.stagingMismatch` unless `stored` (the checkpoint text a store holds for
    /// `batchId`) belongs to start `generation` of the batch (nil: a checkpoint written before
    /// checkpoints had generations). Nothing stored always throws: the batch was cleared.
    static func requireGeneration(_ generation: String?, stored: String?, batchId: String) throws(ETLError) {
        let checkpoint = try stored.map { text throws(ETLError) in try ExtractionCheckpoint(storedText: text, batchId: batchId) }
        guard let checkpoint, checkpoint.generation == generation else {
            throw ETLError.batchRestarted(batchId, generation: generation, stored: checkpoint)
        }
    }
}
