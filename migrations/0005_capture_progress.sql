-- shadowtap inventory, version 5: interrupted ingests resume where their last flush ended.
--
-- Every flush of `shadowtap ingest` records how many packets of the file it covers; an ingest
-- killed part-way is finished by the next one, which replays the file and counts only the
-- transactions completed after that packet.
ALTER TABLE captures ADD COLUMN committed_packets INTEGER NOT NULL DEFAULT 0;
