package dev.lora4j.api;

import java.nio.file.Path;

/** Another sweep (in this process or another) is running in the run folder. */
public final class RunFolderBusyException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /**
     * @param runDir the folder
     * @param holder who holds it (its lock file's words: pid, host, since when)
     */
    public RunFolderBusyException(Path runDir, String holder) {
        super(runDir + " is in use by another sweep (" + holder + "); wait for it to end, or choose another --out");
    }
}
