package io.github.sgm4j.golden;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.nn.Init;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.Parameter;

/** A module tree built from dotted tensor names, for golden cases whose reference used a toy module. */
public final class TreeModule extends Module {

    /** Adds a parameter (or buffer) at a dotted path, creating intermediate children. */
    public Parameter add(String dottedName, Shape shape, DataType dataType, boolean isBuffer, boolean requiresGrad) {
        int dot = dottedName.indexOf('.');
        if (dot >= 0) {
            String head = dottedName.substring(0, dot);
            TreeModule child = children().containsKey(head) ? (TreeModule) child(head) : register(head, new TreeModule());
            return child.add(dottedName.substring(dot + 1), shape, dataType, isBuffer, requiresGrad);
        }
        Parameter p = isBuffer
                ? buffer(dottedName, shape, dataType, Init.zeros(), true)
                : parameter(dottedName, shape, Init.zeros());
        p.setRequiresGrad(requiresGrad);
        return p;
    }
}
