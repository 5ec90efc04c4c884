package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The outcome of a write: the object as now stored, whether it was created, and warnings for
 * the client (for example fields that were dropped).
 */
public record Written(ObjectNode object, boolean created, List<String> warnings) {}
