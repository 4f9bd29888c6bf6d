package canrecorder

// EndpointDocs gives each method its one-line doc, shown by bgkit
// describe, bgkit kinds and $SRV.INFO.
func (s *CANRecorderService) EndpointDocs() map[string]string {
	return map[string]string{
		"Start": "Starts recording: every frame sent after it returns is recorded; carries on if recording.",
		"Stop":  "Stops recording; once it returns the file holds every frame received before, synced to disk.",
		"Stats": "Frames and bytes written, frames dropped, errors and the file.",
		"Tail":  "Streams the frames recorded from now on that pass the filter, each in cansend text (7E8#0102...).",
	}
}
