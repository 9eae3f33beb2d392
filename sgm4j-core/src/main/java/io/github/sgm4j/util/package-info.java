/** Small utilities shared by the models and the command-line tool (sgm's {@code sgm.util}). */
package io.github.sgm4j.util;
