package io.jmesh.discovery.analysis;

/** One of istioctl analyze's analyzers: reads the objects of a {@link AnalysisContext} and reports messages. */
public interface Analyzer {

    /** Istio's name of the analyzer, e.g. {@code virtualservice.DestinationHostAnalyzer}. */
    String name();

    /** Analyzes {@code context}, adding what it finds with {@link AnalysisContext#report}. Must not throw. */
    void analyze(AnalysisContext context);
}
