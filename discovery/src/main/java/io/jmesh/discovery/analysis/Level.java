package io.jmesh.discovery.analysis;

import java.util.Locale;

/** A message's level, most severe first, as istioctl names them. */
public enum Level {
    ERROR("Error"), WARNING("Warning"), INFO("Info");

    private final String displayName;

    Level(String displayName) {
        this.displayName = displayName;
    }

    /** Istio's name: {@code Error}, {@code Warning} or {@code Info}. */
    public String displayName() {
        return displayName;
    }

    /** Returns whether this level is as severe as {@code threshold} or more. */
    public boolean atLeast(Level threshold) {
        return ordinal() <= threshold.ordinal();
    }

    /** Parses {@code Error}, {@code Warning}, {@code Info} (any case); null if it is none of them. */
    public static Level parse(String text) {
        if (text == null) {
            return null;
        }
        for (Level l : values()) {
            if (l.displayName.toLowerCase(Locale.ROOT).equals(text.toLowerCase(Locale.ROOT))) {
                return l;
            }
        }
        return null;
    }
}
